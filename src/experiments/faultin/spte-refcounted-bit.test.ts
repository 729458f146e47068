import { describe, expect, it } from 'vitest';
import type { AdPolicyName } from '../../kvm/ad-policy.ts';
import { HI_PAGE_REFCOUNTED, isLastSpte, isShadowPresent } from '../../kvm/x86/spte.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import {
  addFaultinSlot,
  createFaultinVm,
  type FaultinBacking,
  faultinGfn,
  hostZap,
  touchPages,
} from './faultin-vm.ts';

/** Faults 1024 pages in, counts leaves with SPTE_MMU_PAGE_REFCOUNTED, zaps them all. */
function run(backing: FaultinBacking, variant: AdPolicyName): number[] {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const base = createFaultinVm(engine, backing, variant, 1024 * 4096);
  let marked = 0;
  engine.spawn('vcpu0', function* (t) {
    const vm = yield* addFaultinSlot(t, base);
    yield* touchPages(t, vm, 0, 1024, true);
    const pool = vm.kvm.mmu.pool;
    for (let i = 0; i < 1024; i++) {
      const idx = pool.walk(vm.vcpu.root!.table, faultinGfn(i));
      if (
        isShadowPresent(pool.lo[idx]) &&
        isLastSpte(pool.lo[idx], pool.walkLevel) &&
        pool.hi.get(idx) & HI_PAGE_REFCOUNTED
      )
        marked++;
    }
    hostZap(t, vm, 0, 1024);
  });
  engine.run();
  const s = base.kvm.faultin;
  return [marked, s.zappedRefcounted, s.zappedNonRefcounted];
}

describe('stevens-v11: SPTE_MMU_PAGE_REFCOUNTED (bit 59)', () => {
  it('set on leaves whose page KVM referenced; zaps are told apart by it', () => {
    // Anonymous memory: every page came from GUP with a reference.
    expect(run('anonymous', 'stevens-v11')).toEqual([1024, 1024, 0]);
    // A driver's non-compound blocks: only the two heads could be referenced.
    expect(run('non-refcounted', 'stevens-v11')).toEqual([2, 2, 1022]);
    // Device memory has no struct page.
    expect(run('pfnmap-4k', 'stevens-v11')).toEqual([0, 0, 1024]);
  });

  it('never set, and zaps not classified, by the other policies', () => {
    expect(run('anonymous', '6.13')).toEqual([0, 0, 0]);
    expect(run('pfnmap-4k', 'pre-6.13')).toEqual([0, 0, 0]);
  });
});
