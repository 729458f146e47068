import { describe, expect, it } from 'vitest';
import { shadowFault, shadowLeaf } from '../../../testing/shadow-fault.ts';
import { runOnVm, testGfn } from '../../../testing/vm-fixture.ts';
import { RET_PF_FIXED } from '../kvm-mmu.ts';
import { KVM_RMAP_LOCKED, rmapSpteVal } from './pte-list.ts';
import { ShadowMmu } from './shadow-mmu.ts';

/** Heads of every rmap and parent_ptes list that still carry KVM_RMAP_LOCKED. */
function lockedHeads(mmu: ShadowMmu): number {
  let n = 0;
  for (const r of mmu.rmaps.all())
    for (const heads of r.rmap) for (const h of heads) if (h & KVM_RMAP_LOCKED) n++;
  for (const sp of mmu.activeMmuPages.toArray()) if (sp.parentPtes & KVM_RMAP_LOCKED) n++;
  return n;
}

describe('lockless shadow-MMU aging (kvm_rmap_age_gfn_range, 6.15)', () => {
  it('A/D on: clears A with no mmu_lock, under read-only rmap locks, and reports young once', () => {
    runOnVm({}, (t, vm) => {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 1);
      expect(shadowFault(t, mmu, root, g, true)).toBe(RET_PF_FIXED);
      expect(shadowFault(t, mmu, root, g + 1, true)).toBe(RET_PF_FIXED);
      // Both faults added to empty rmaps: the lock was elided each time.
      expect(mmu.stats.snapshot()).toMatchObject({ rmapLocks: 0, sptesPrefetched: 0 });
      const locks = { ...kvm.mmuLock.stats };
      const s0 = mmu.stats.snapshot();
      const young = [
        mmu.ageGfnRange(t, 0, g, g + 2, false, true),
        mmu.ageGfnRange(t, 0, g, g + 2, false, true),
        mmu.ageGfnRange(t, 0, g, g + 2, true, true),
      ];
      expect(young).toEqual([true, false, false]);
      const a = shadowLeaf(mmu, root, g);
      const b = shadowLeaf(mmu, root, g + 1);
      expect([a.lo & 0xfff, a.hi, b.lo & 0xfff, b.hi]).toEqual([0xa37, 0x06000000, 0xa37, 0x06000000]);
      expect([kvm.stats.sptesAged, kvm.stats.ageCasFailures]).toEqual([2, 0]);
      // No mmu_lock at all; per pass two 4K rmaps locked and walked, the 2M and 1G heads empty.
      expect([kvm.mmuLock.stats.writeAcquired, kvm.mmuLock.stats.readAcquired]).toEqual([
        locks.writeAcquired,
        locks.readAcquired,
      ]);
      const s = mmu.stats.snapshot();
      expect([
        s.rmapLocks - s0.rmapLocks,
        s.rmapLocksReadonly - s0.rmapLocksReadonly,
        s.rmapLocksElided - s0.rmapLocksElided,
        s.rmapHeadsWalked - s0.rmapHeadsWalked,
        s.rmapLockWaits,
      ]).toEqual([6, 6, 6, 6, 0]);
      const slot = kvm.memslots(0).gfnToMemslot(g)!;
      const rmap = mmu.rmaps.of(slot).rmap[0];
      expect([rmap[g - slot.baseGfn], rmap[g + 1 - slot.baseGfn]]).toEqual([
        rmapSpteVal(a.sptep),
        rmapSpteVal(b.sptep),
      ]);
      expect(lockedHeads(mmu)).toBe(0);
      return undefined;
    });
  });

  it('A/D off: one cmpxchg to the access-tracked value; a fast page fault restores it', () => {
    runOnVm({ eptAd: false }, function* (t, vm) {
      const mmu = new ShadowMmu(vm.kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      shadowFault(t, mmu, root, g, true);
      const state = () => {
        const s = shadowLeaf(mmu, root, g);
        return [s.lo & 0xfff, s.hi];
      };
      const states = [state()];
      expect(mmu.ageGfnRange(t, 0, g, g + 1, false, true)).toBe(true);
      states.push(state());
      expect(mmu.ageGfnRange(t, 0, g, g + 1, true, true)).toBe(false);
      expect(mmu.fastPageFault(t, root, g, false)).toBe(RET_PF_FIXED);
      states.push(state());
      expect(states).toEqual([
        [0x837, 0x06100000],
        [0x830, 0x07500000],
        [0x835, 0x06100000],
      ]);
      expect([vm.kvm.stats.sptesAged, vm.kvm.stats.ageCasFailures, lockedHeads(mmu)]).toEqual([1, 0, 0]);
    });
  });

  it('test-only stops at the first young SPTE; seed 000 bitmaps record and select gfns', () => {
    runOnVm({}, function* (t, vm) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 1);
      for (const i of [0, 1, 3]) shadowFault(t, mmu, root, g + i, true);
      const walked = mmu.stats.rmapHeadsWalked;
      expect(mmu.ageGfnRange(t, 0, g, g + 4, true, true)).toBe(true);
      expect(mmu.stats.rmapHeadsWalked - walked).toBe(1);
      // Bitmap over [g, g + 4): bit (last gfn - gfn).
      const last = g + 3;
      const bitmap = new Uint32Array(1);
      expect(mmu.ageGfnRange(t, 0, g, g + 4, true, true, bitmap, last)).toBe(true);
      expect(bitmap[0]).toBe(0b1101); // bits 0, 2, 3: gfns g + 3, g + 1, g
      bitmap[0] = 1 << (last - (g + 1)); // age only g + 1
      expect(mmu.ageGfnRange(t, 0, g, g + 4, false, true, bitmap, last)).toBe(true);
      const lows = [0, 1, 3].map((i) => shadowLeaf(mmu, root, g + i).lo & 0xfff);
      expect(lows).toEqual([0xb37, 0xa37, 0xb37]);
      expect([kvm.stats.sptesAged, lockedHeads(mmu)]).toEqual([1, 0]);
    });
  });

  it('a non-present SPTE still in the chain (a zap between clear and rmap_remove) is skipped', () => {
    runOnVm({}, (t, vm) => {
      const mmu = new ShadowMmu(vm.kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      shadowFault(t, mmu, root, g, true);
      const { sptep, lo, hi } = shadowLeaf(mmu, root, g);
      mmu.pool.lo[sptep] = 0;
      mmu.pool.hi.set(sptep, 0x80000000);
      expect(mmu.ageGfnRange(t, 0, g, g + 1, true, true)).toBe(false);
      expect(mmu.ageGfnRange(t, 0, g, g + 1, false, true)).toBe(false);
      expect([mmu.pool.lo[sptep], vm.kvm.stats.sptesAged, mmu.stats.rmapLocksReadonly]).toEqual([0, 0, 2]);
      mmu.pool.lo[sptep] = lo;
      mmu.pool.hi.set(sptep, hi);
      expect(mmu.ageGfnRange(t, 0, g, g + 1, false, true)).toBe(true);
      return undefined;
    });
  });

  it('zapping takes the rmap lock on 6.15, never before; the lock bit is clear after every path', () => {
    for (const aging of ['lockless', 'write-lock'] as const) {
      runOnVm({ aging }, (t, vm) => {
        const kvm = vm.kvm;
        const mmu = new ShadowMmu(kvm);
        const root = mmu.allocRoot(0);
        const g = testGfn(vm, 1);
        shadowFault(t, mmu, root, g, true);
        shadowFault(t, mmu, root, g + 1, true);
        kvm.mmuLock.writeLock(t);
        expect(mmu.unmapGfnRange(t, 0, g, g + 2)).toBe(true);
        kvm.mmuLock.writeUnlock(t);
        // Two non-empty rmaps locked and emptied (on 6.15).
        expect(mmu.stats.rmapLocks).toBe(aging === 'lockless' ? 2 : 0);
        const slot = kvm.memslots(0).gfnToMemslot(g)!;
        const rmap = mmu.rmaps.of(slot).rmap[0];
        expect([rmap[g - slot.baseGfn], rmap[g + 1 - slot.baseGfn], lockedHeads(mmu)]).toEqual([0, 0, 0]);
        mmu.flushShadowMemslot(t, slot);
        expect([lockedHeads(mmu), kvm.stats.sptesZapped]).toEqual([0, 2]);
        return undefined;
      });
    }
  });

  it('as in the kernel, a range not aligned to a huge page can miss the last huge rmap', () => {
    runOnVm({ backing: 'anonymous_thp', vcpuBytes: 8 << 20 }, (t, vm) => {
      const mmu = new ShadowMmu(vm.kvm);
      const root = mmu.allocRoot(0);
      const g0 = testGfn(vm, 0);
      const h = (Math.floor(g0 / 512) + 2) * 512; // 2 MiB aligned, with its predecessor in the slot
      expect(shadowFault(t, mmu, root, h, true)).toBe(RET_PF_FIXED);
      const { sptep } = shadowLeaf(mmu, root, h);
      expect([mmu.pool.walkLevel, mmu.pool.lo[sptep] & 0xfff]).toEqual([2, 0xbb7]);
      // [h - 1, h + 1): the 2M walk visits gfn h - 1's rmap only, then steps past the end.
      expect(mmu.ageGfnRange(t, 0, h - 1, h + 1, false, true)).toBe(false);
      expect(mmu.pool.lo[sptep] & 0xfff).toBe(0xbb7);
      expect(mmu.ageGfnRange(t, 0, h, h + 1, false, true)).toBe(true);
      expect([mmu.pool.lo[sptep] & 0xfff, vm.kvm.stats.sptesAged]).toEqual([0xab7, 1]);
      // The write-locked walk (kvm_handle_gfn_range) goes by rmap index and reaches it.
      mmu.pool.lo[sptep] |= 0x100;
      vm.kvm.mmuLock.writeLock(t);
      expect(mmu.ageGfnRange(t, 0, h - 1, h + 1, false, false)).toBe(true);
      vm.kvm.mmuLock.writeUnlock(t);
      expect([mmu.pool.lo[sptep] & 0xfff, vm.kvm.stats.sptesAged]).toEqual([0xab7, 2]);
      return undefined;
    });
  });
});
