/**
 * Models no kernel file: test support: the accessed/dirty-policy part of the x86 MMU conformance
 * suite (mmu-conformance.ts). On every MMU and for every policy of seed 002 (kvm/ad-policy.ts),
 * the folio behind a guest write is dirtied and marked accessed at the same points: at map time
 * (6.13: kvm_release_faultin_page with dirty = map_writable), when aging drops W from an
 * A/D-disabled SPTE (before 6.13: "capture the dirty status"), and when the SPTE is zapped (before
 * 6.13: handle_changed_spte_dirty_log / mmu_spte_clear_track_bits), or never (no-dirty).
 */
import { describe, expect, it } from 'vitest';
import { PG_DIRTY, PG_IDLE } from '../host/page-flags.ts';
import { AD_POLICIES } from '../kvm/ad-policy.ts';
import { sptePfn } from '../kvm/x86/spte.ts';
import type { MakeMmuVm } from './vm-fixture.ts';
import { leafSpte, testGfn, vcpuAccess } from './vm-fixture.ts';

/** PG_dirty of the folio and whether it was marked accessed (PG_idle cleared), as [dirty, accessed]. */
type Ad = [boolean, boolean];

/**
 * Per policy, with EPT A/D bits on: the folio after the write fault, then (PG_dirty cleared and
 * PG_idle set, as writeback and idle marking would) after an invalidation zapped the SPTE.
 */
const ZAP_EXPECTED: Record<string, [Ad, Ad]> = {
  'pre-6.13': [
    [false, true],
    [true, true],
  ],
  '6.13': [
    [true, true],
    [false, false],
  ],
  'stevens-v11': [
    [false, true],
    [true, true],
  ],
  'no-dirty': [
    [false, true],
    [false, false],
  ],
};

/**
 * Per policy, with EPT A/D bits off: PG_dirty after the write fault, after aging made the SPTE
 * access-tracked (flags cleared first), and after the fast page fault restored W and the SPTE was
 * zapped (flags cleared first).
 */
const AGE_EXPECTED: Record<string, [boolean, boolean, boolean]> = {
  'pre-6.13': [false, true, true],
  '6.13': [true, false, false],
  'stevens-v11': [false, true, true],
  'no-dirty': [false, false, false],
};

/** Registers the A/D-policy conformance tests for the MMU `name` builds. */
export function describeAdPolicyConformance(name: string, makeVm: MakeMmuVm): void {
  describe(`${name}: accessed/dirty policies`, () => {
    for (const policy of AD_POLICIES) {
      it(`${policy.name}, A/D on: dirty and accessed at map or on zap as the policy says`, () => {
        const seen: Ad[] = [];
        makeVm({ adPolicy: policy }, function* (t, vm) {
          const gfn = testGfn(vm, 0);
          const hva = vm.testVma.start;
          yield* vcpuAccess(t, vm.kvm.vcpus[0], gfn, true);
          const s = leafSpte(vm, gfn)!;
          const pfn = sptePfn(s.lo, s.hi);
          const flags = vm.host.mem.flags;
          // Marked accessed: folio_mark_accessed (lru_gen off) clears PG_idle each time; PG_referenced
          // alone would not tell, since a second mark activates the folio and clears it.
          const ad = (): Ad => [(flags[pfn] & PG_DIRTY) !== 0, (flags[pfn] & PG_IDLE) === 0];
          seen.push(ad());
          flags[pfn] = (flags[pfn] & ~PG_DIRTY) | PG_IDLE;
          const range = { mm: vm.mm, start: hva, end: hva + 4096, event: 'clear' as const, blockable: true };
          vm.kvm.notifier.invalidateRangeStart(t, range);
          vm.kvm.notifier.invalidateRangeEnd(t, range);
          expect(leafSpte(vm, gfn)).toBe(null);
          seen.push(ad());
        });
        expect(seen).toEqual(ZAP_EXPECTED[policy.name]);
      });

      it(`${policy.name}, A/D off: aging and the fast page fault dirty the folio as the policy says`, () => {
        const seen: boolean[] = [];
        const { vm } = makeVm({ adPolicy: policy, eptAd: false }, function* (t, vm) {
          const vcpu = vm.kvm.vcpus[0];
          const gfn = testGfn(vm, 0);
          const hva = vm.testVma.start;
          yield* vcpuAccess(t, vcpu, gfn, true);
          const s = leafSpte(vm, gfn)!;
          const pfn = sptePfn(s.lo, s.hi);
          const flags = vm.host.mem.flags;
          seen.push((flags[pfn] & PG_DIRTY) !== 0);
          flags[pfn] &= ~PG_DIRTY;
          expect(vm.kvm.notifier.clearYoung(t, vm.mm, hva, hva + 4096)).toBe(true);
          seen.push((flags[pfn] & PG_DIRTY) !== 0);
          flags[pfn] &= ~PG_DIRTY;
          yield* vcpuAccess(t, vcpu, gfn, true);
          const range = { mm: vm.mm, start: hva, end: hva + 4096, event: 'clear' as const, blockable: true };
          vm.kvm.notifier.invalidateRangeStart(t, range);
          vm.kvm.notifier.invalidateRangeEnd(t, range);
          seen.push((flags[pfn] & PG_DIRTY) !== 0);
        });
        expect(seen).toEqual(AGE_EXPECTED[policy.name]);
        // The write after aging went through the fast page fault (W restored without mmu_lock).
        expect(vm.kvm.stats.fastPageFaults).toBe(1);
      });
    }
  });
}
