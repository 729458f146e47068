import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemstressVm } from '../experiments/access-tracking/memstress-vm.ts';
import { followPteLockless } from '../host/gup.ts';
import { madviseDontneed } from '../host/madvise.ts';
import { runOnVm, testGfn, vcpuAccess } from '../testing/vm-fixture.ts';
import { gfnToHvaMemslot } from './memslots.ts';
import { isLastSpte, isShadowPresent, sptePfn } from './x86/spte.ts';
import { pagesPerLevel } from './x86/tdp-mmu/spte-pool.ts';

const PAGES = 1024;

type Op =
  | { kind: 'access'; vcpu: number; page: number; write: boolean }
  | { kind: 'dontneed'; page: number; n: number }
  | { kind: 'age'; page: number; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('access' as const),
      vcpu: fc.nat(1),
      page: fc.nat(PAGES - 1),
      write: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('dontneed' as const),
      page: fc.nat(PAGES - 1),
      n: fc.integer({ min: 1, max: 600 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('age' as const),
      page: fc.nat(PAGES - 1),
      n: fc.integer({ min: 1, max: 64 }),
    }),
  },
);

/** Every present leaf SPTE of the test slot, as gfn → pfn. */
function leafMap(vm: MemstressVm): Map<number, number> {
  const out = new Map<number, number>();
  const mmu = vm.kvm.mmu;
  const root = vm.kvm.vcpus[0].root;
  if (root === null) return out;
  for (let gfn = testGfn(vm, 0); gfn < testGfn(vm, vm.testPages); ) {
    const idx = mmu.pool.walk(root.table, gfn);
    const level = mmu.pool.walkLevel;
    const lo = mmu.pool.lo[idx];
    if (isShadowPresent(lo) && isLastSpte(lo, level)) {
      const span = pagesPerLevel(level);
      const base = Math.floor(gfn / span) * span;
      out.set(gfn, sptePfn(lo, mmu.pool.hi.get(idx)) + (gfn - base));
    }
    gfn++;
  }
  return out;
}

/** Checks that each SPTE maps what the host maps at the gfn's address, and no pfn twice. */
function checkConsistent(vm: MemstressVm): string | null {
  const slot = vm.kvm.memslots(0).gfnToMemslot(testGfn(vm, 0))!;
  const seen = new Map<number, number>();
  for (const [gfn, pfn] of leafMap(vm)) {
    const hostPfn = followPteLockless(vm.mm, gfnToHvaMemslot(slot, gfn), false);
    if (hostPfn !== pfn) return `gfn ${gfn}: SPTE maps pfn ${pfn}, host maps ${hostPfn}`;
    if (pfn !== vm.host.mem.zeroPfn) {
      const other = seen.get(pfn);
      if (other !== undefined) return `pfn ${pfn} mapped by gfns ${other} and ${gfn}`;
      seen.set(pfn, gfn);
    }
  }
  return null;
}

describe('secondary MMU invariants (property)', () => {
  it('a gfn maps at most one pfn, the host one; after invalidate_range_end no SPTE maps an unmapped pfn', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.boolean(), (ops, eptAd) => {
        let problem: string | null = null;
        runOnVm({ vcpus: 2, vcpuBytes: (PAGES / 2) * 4096, overlap: true, eptAd }, function* (t, vm) {
          for (const o of ops) {
            if (o.kind === 'access') yield* vcpuAccess(t, vm.kvm.vcpus[o.vcpu], testGfn(vm, o.page), o.write);
            else if (o.kind === 'age') {
              const a = vm.testVma.start + o.page * 4096;
              vm.kvm.notifier.clearYoung(t, vm.mm, a, Math.min(a + o.n * 4096, vm.testVma.end));
            } else {
              const a = vm.testVma.start + o.page * 4096;
              madviseDontneed(t, vm.mm, a, Math.min(a + o.n * 4096, vm.testVma.end));
              if (vm.kvm.mmuInvalidateInProgress !== 0) problem = 'invalidation still in progress';
            }
            problem ??= checkConsistent(vm);
            if (t.mustSync()) yield;
          }
        });
        expect(problem).toBeNull();
      }),
      { numRuns: 60, seed: 7 },
    );
  });
});
