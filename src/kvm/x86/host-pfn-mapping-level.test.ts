import { describe, expect, it } from 'vitest';
import {
  addFaultinSlot,
  createFaultinVm,
  type FaultinBacking,
  faultinGfn,
  touchPages,
} from '../../experiments/faultin/faultin-vm.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import { gfnToHvaMemslot, type KvmMemorySlot } from '../memslots.ts';
import { disallowLpage, hostPfnMappingLevel, kvmMmuMaxMappingLevel } from './host-pfn-mapping-level.ts';

/** Host level and KVM's max level for the slot's first gfn, before and after the guest touches it. */
function levels(backing: FaultinBacking, bytes: number): number[] {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const base = createFaultinVm(engine, backing, '6.13', bytes);
  const out: number[] = [];
  engine.spawn('main', function* (t) {
    const vm = yield* addFaultinSlot(t, base);
    const slot = vm.kvm.memslots(0).gfnToMemslot(faultinGfn(0))!;
    const hva = gfnToHvaMemslot(slot, faultinGfn(0));
    out.push(hostPfnMappingLevel(t, vm.mm, hva));
    yield* touchPages(t, vm, 0, 1, true);
    const before = t.now;
    out.push(hostPfnMappingLevel(t, vm.mm, hva), kvmMmuMaxMappingLevel(t, vm.kvm, slot, faultinGfn(0)));
    // Three entry reads for a 4K or 2M leaf (PGD, PUD, PMD), two for a PUD leaf, per walk.
    out.push((t.now - before) / engine.profile.ptWalkLevelNs);
  });
  engine.run();
  return out;
}

describe('host_pfn_mapping_level and __kvm_mmu_max_mapping_level', () => {
  it('reads the level of the host leaf: PUD for huge PFNMAP, PMD for THP, PTE otherwise; 4K before any fault', () => {
    expect(levels('pfnmap-1g', 2 ** 30)).toEqual([1, 3, 3, 4]);
    expect(levels('pfnmap-2m', 4 << 20)).toEqual([1, 2, 2, 6]);
    expect(levels('thp', 4 << 20)).toEqual([1, 2, 2, 6]);
    expect(levels('pfnmap-4k', 4 << 20)).toEqual([1, 1, 1, 6]);
  });

  it('lpage_info: a huge page may not cross the slot or join gfns and hvas aligned differently', () => {
    const slot: KvmMemorySlot = {
      id: 0,
      asId: 0,
      baseGfn: 0x40200,
      npages: 0x80000,
      userspaceAddr: 2 ** 40,
      flags: 0,
    };
    // 1 GiB at 0x40000 starts before the slot; at 0x80000 the gfn/hva offsets differ by 0x200 pages.
    expect(disallowLpage(slot, 0x40200, 3)).toBe(true);
    expect(disallowLpage(slot, 0x80000, 3)).toBe(true);
    // 2 MiB: 0x200 is a multiple of 512, so gfn and hva are alike aligned; the last 2 MiB fits.
    expect(disallowLpage(slot, 0x40200, 2)).toBe(false);
    expect(disallowLpage(slot, 0xc01ff, 2)).toBe(false);
    expect(disallowLpage(slot, 0xc0200, 2)).toBe(true);
  });
});
