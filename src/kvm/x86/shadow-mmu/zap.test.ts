import { describe, expect, it } from 'vitest';
import type { MemstressVm } from '../../../experiments/access-tracking/memstress-vm.ts';
import { loadProfile, withCosts } from '../../../sim/profile.ts';
import type { SimThread } from '../../../sim/thread.ts';
import { shadowFault, shadowLeaf } from '../../../testing/shadow-fault.ts';
import { runOnVm, testGfn } from '../../../testing/vm-fixture.ts';
import { RET_PF_FIXED } from '../kvm-mmu.ts';
import type { KvmMmuPage } from './mmu-page.ts';
import { rmapSpteVal } from './pte-list.ts';
import { ShadowMmu } from './shadow-mmu.ts';
import { BATCH_ZAP_PAGES, kvmMmuFreeRoot, kvmMmuZapAllFast } from './zap.ts';

/** SHADOW_NONPRESENT_VALUE's high word, as the pool reads it back. */
const NONPRESENT = 0x80000000;

describe('shadow MMU aging and zapping through the rmaps (mmu_lock held for write)', () => {
  it('fault, age, test-age, then zap leaves exactly the expected SPTEs', () => {
    runOnVm({}, function* (t, vm) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 1); // 2 MiB aligned: both gfns share a 4K page table
      expect(shadowFault(t, mmu, root, g, true)).toBe(RET_PF_FIXED);
      expect(shadowFault(t, mmu, root, g + 1, true)).toBe(RET_PF_FIXED);
      const locks = kvm.mmuLock.stats.writeAcquired;
      kvm.mmuLock.writeLock(t);
      const young = [
        mmu.ageGfnRange(t, 0, g, g + 1, false, false),
        mmu.ageGfnRange(t, 0, g, g + 1, false, false),
        mmu.ageGfnRange(t, 0, g, g + 1, true, false),
        mmu.ageGfnRange(t, 0, g + 1, g + 2, true, false),
        mmu.ageGfnRange(t, 0, g, g + 2, true, false),
      ];
      kvm.mmuLock.writeUnlock(t);
      expect(young).toEqual([true, false, false, true, true]);
      const a = shadowLeaf(mmu, root, g);
      const b = shadowLeaf(mmu, root, g + 1);
      expect([a.lo & 0xfff, a.hi, b.lo & 0xfff, b.hi]).toEqual([0xa37, 0x06000000, 0xb37, 0x06000000]);
      expect(kvm.stats.sptesAged).toBe(1);

      const slot = kvm.memslots(0).gfnToMemslot(g)!;
      const rmap = mmu.rmaps.of(slot).rmap[0];
      expect([rmap[g - slot.baseGfn], rmap[g + 1 - slot.baseGfn]]).toEqual([
        rmapSpteVal(a.sptep),
        rmapSpteVal(b.sptep),
      ]);
      const nonLeaf = [0, 1, 2].map((table) =>
        Array.from(mmu.pool.lo.subarray(table * 512, table * 512 + 512)),
      );
      kvm.mmuLock.writeLock(t);
      const flush = [mmu.unmapGfnRange(t, 0, g, g + 2), mmu.unmapGfnRange(t, 0, g, g + 2)];
      kvm.mmuLock.writeUnlock(t);
      expect(flush).toEqual([true, false]);
      for (const s of [a.sptep, b.sptep])
        expect([mmu.pool.lo[s], mmu.pool.hi.get(s)]).toEqual([0, NONPRESENT]);
      expect([rmap[g - slot.baseGfn], rmap[g + 1 - slot.baseGfn], mmu.pteLists.descs]).toEqual([0, 0, 0]);
      // Zapping leaves keeps every shadow page and every non-leaf SPTE.
      expect(mmu.activeMmuPages.length).toBe(4);
      expect(
        [0, 1, 2].map((table) => Array.from(mmu.pool.lo.subarray(table * 512, table * 512 + 512))),
      ).toEqual(nonLeaf);
      expect(Array.from(mmu.pool.lo.subarray(3 * 512, 4 * 512)).every((lo) => lo === 0)).toBe(true);
      expect([kvm.stats.sptesZapped, kvm.mmuLock.stats.writeAcquired - locks]).toEqual([2, 2]);
    });
  });

  it('A/D bits off: aging makes the SPTE access-tracked; fast page faults restore it', () => {
    runOnVm({ eptAd: false }, function* (t, vm) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      const states: number[][] = [];
      const state = () => {
        const s = shadowLeaf(mmu, root, g);
        states.push([s.lo & 0xfff, s.hi]);
      };
      shadowFault(t, mmu, root, g, true);
      state();
      kvm.mmuLock.writeLock(t);
      expect(mmu.ageGfnRange(t, 0, g, g + 1, false, false)).toBe(true);
      kvm.mmuLock.writeUnlock(t);
      state();
      expect(mmu.fastPageFault(t, root, g, false)).toBe(RET_PF_FIXED);
      state();
      expect(mmu.fastPageFault(t, root, g, true)).toBe(RET_PF_FIXED);
      state();
      expect(states).toEqual([
        [0x837, 0x06100000],
        [0x830, 0x07500000],
        [0x835, 0x06100000],
        [0x837, 0x06100000],
      ]);
      expect(root.role).toBe(0x13784);
    });
  });

  it('write-locked aging needs mmu_lock for write; lockless aging must not hold it and needs 6.15', () => {
    runOnVm({}, function* (t, vm) {
      const mmu = new ShadowMmu(vm.kvm);
      const g = testGfn(vm, 0);
      expect(() => mmu.ageGfnRange(t, 0, g, g + 1, false, false)).toThrow(
        'kvm_age_gfn: mmu_lock not held for write',
      );
      expect(() => mmu.unmapGfnRange(t, 0, g, g + 1)).toThrow('kvm_unmap_gfn_range: mmu_lock not held');
      vm.kvm.mmuLock.writeLock(t);
      expect(() => mmu.ageGfnRange(t, 0, g, g + 1, true, true)).toThrow(
        'kvm_rmap_age_gfn_range: called with mmu_lock held',
      );
      vm.kvm.mmuLock.writeUnlock(t);
      expect(mmu.ageGfnRange(t, 0, g, g + 1, true, true)).toBe(false);
    });
    runOnVm({ aging: 'write-lock' }, function* (t, vm) {
      const mmu = new ShadowMmu(vm.kvm);
      const g = testGfn(vm, 0);
      expect(() => mmu.ageGfnRange(t, 0, g, g + 1, false, true)).toThrow(
        'lockless aging needs the rmap lock of 6.15',
      );
    });
  });

  it('kvm_arch_flush_shadow_memslot zaps the slot through its rmaps and flushes once', () => {
    runOnVm({}, (t, vm) => {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      for (let i = 0; i < 3; i++) shadowFault(t, mmu, root, g + 16 * i, i !== 1);
      const flushes = kvm.stats.tlbFlushes;
      mmu.flushShadowMemslot(t, kvm.memslots(0).gfnToMemslot(g)!);
      expect([kvm.stats.tlbFlushes - flushes, kvm.stats.sptesZapped]).toEqual([1, 3]);
      for (let i = 0; i < 3; i++) expect(shadowLeaf(mmu, root, g + 16 * i).hi).toBe(NONPRESENT);
      expect(kvm.mmuLock.writer).toBe(null);
      return undefined;
    });
  });
});

describe('kvm_mmu_zap_all_fast', () => {
  /** Faults one page in each of `n` 2 MiB regions of the test memory, from its first aligned one. */
  function faultRegions(t: SimThread, mmu: ShadowMmu, root: KvmMmuPage, vm: MemstressVm, n: number): void {
    const g = testGfn(vm, (512 - (testGfn(vm, 0) % 512)) % 512);
    for (let i = 0; i < n; i++) shadowFault(t, mmu, root, g + 512 * i, true);
  }

  it('makes every page obsolete, frees all but the held root, and the root on its last put', () => {
    runOnVm({ vcpuBytes: 32 << 20 }, function* (t, vm) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      faultRegions(t, mmu, root, vm, 12);
      const pages = mmu.activeMmuPages.toArray();
      expect(pages.map((p) => p.level)).toEqual([4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
      const flushes = kvm.stats.tlbFlushes;
      yield* kvmMmuZapAllFast(mmu, t);
      expect(mmu.mmuValidGen).toBe(1);
      // The held root left active_mmu_pages invalid; the 14 others were freed after one flush.
      expect([mmu.activeMmuPages.length, root.invalid, root.rootCount, mmu.pool.tables]).toEqual([
        0,
        true,
        1,
        1,
      ]);
      expect(pages.slice(1).every((p) => p.invalid && mmu.sps[p.spt] === null)).toBe(true);
      expect(mmu.stats.snapshot()).toMatchObject({
        zapAllFast: 1,
        mmuShadowZapped: 15,
        pagesFreed: 14,
        nUsedMmuPages: 1,
        obsoleteVisited: 15,
        obsoleteRestarts: 0,
        lockBreaks: 0,
        freeObsoleteRootsRequests: 1,
      });
      expect([kvm.stats.tlbFlushes - flushes, kvm.stats.sptesZapped]).toEqual([1, 12]);
      expect(mmu.pteLists.descs).toBe(0);
      expect(mmu.hash.buckets.filter((b) => b !== null)).toEqual([root]);
      // The vCPU drops its obsolete root: the last put zaps and frees it.
      kvmMmuFreeRoot(mmu, t, root);
      expect([mmu.pool.tables, mmu.roots.length, mmu.stats.pagesFreed, mmu.stats.nUsedMmuPages]).toEqual([
        0, 0, 15, 0,
      ]);
      expect(mmu.hash.buckets.every((b) => b === null)).toBe(true);
      // A new root and fault live in the new generation.
      const root2 = mmu.allocRoot(0);
      expect(root2).not.toBe(root);
      shadowFault(t, mmu, root2, g, true);
      expect(mmu.activeMmuPages.toArray().map((p) => [p.level, p.mmuValidGen])).toEqual([
        [4, 1],
        [3, 1],
        [2, 1],
        [1, 1],
      ]);
    });
  });

  it(`breaks mmu_lock every ${BATCH_ZAP_PAGES} zapped pages when another thread needs the CPU, and restarts`, () => {
    // One host CPU and 1 us slices: 'other' waits for main's CPU, so need_resched is set each time
    // main's slice is over.
    const profile = withCosts(loadProfile('x86-tdp'), { timesliceNs: 1000 });
    runOnVm({ vcpuBytes: 96 << 20, cpus: 1, profile }, function* (t, vm, engine) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      faultRegions(t, mmu, root, vm, 40);
      let lockHolderSeen = 0;
      engine.spawn('other', function* (u) {
        for (let i = 0; i < 400; i++) {
          if (kvm.mmuLock.writer !== null) lockHolderSeen++;
          u.advance(100);
          yield;
        }
      });
      yield* kvmMmuZapAllFast(mmu, t);
      expect(lockHolderSeen).toBe(0);
      expect(mmu.stats.snapshot()).toMatchObject({
        pagesFreed: mmu.stats.pagesAllocated - 1,
        lockBreaks: 4,
        obsoleteRestarts: 4,
      });
    });
  });
});
