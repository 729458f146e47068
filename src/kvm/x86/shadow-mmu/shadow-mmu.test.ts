import { describe, expect, it } from 'vitest';
import { FOLL_WRITE, followPteLockless } from '../../../host/gup.ts';
import { shadowFault, shadowLeaf } from '../../../testing/shadow-fault.ts';
import { runOnVm, testGfn } from '../../../testing/vm-fixture.ts';
import { kvmFaultinPfn } from '../../follow-pfn.ts';
import { RET_PF_FIXED, RET_PF_SPURIOUS } from '../kvm-mmu.ts';
import { sptePfn } from '../spte.ts';
import { kvmMmuChildRole, tdpRootRole } from './mmu-page.ts';
import { rmapSpteVal } from './pte-list.ts';
import { ShadowMmu } from './shadow-mmu.ts';

describe('shadow MMU direct_map', () => {
  it('a write fault builds root and three child pages and installs the TDP MMU’s SPTE', () => {
    const { vm } = runOnVm({}, function* (t, vm) {
      const mmu = new ShadowMmu(vm.kvm);
      const gfn = testGfn(vm, 0);
      const locks = vm.kvm.mmuLock.stats.writeAcquired;
      const root = mmu.allocRoot(0);
      expect(shadowFault(t, mmu, root, gfn, true)).toBe(RET_PF_FIXED);
      expect(vm.kvm.mmuLock.stats.writeAcquired - locks).toBe(1);

      // active_mmu_pages in creation order: root, then one page per level down to 4K.
      const pages = mmu.activeMmuPages.toArray();
      expect(pages.map((p) => [p.level, p.gfn, p.spt, p.role])).toEqual([
        [4, 0, 0, 0x3784],
        [3, Math.floor(gfn / 2 ** 27) * 2 ** 27, 1, 0x3783],
        [2, Math.floor(gfn / 262144) * 262144, 2, 0x3782],
        [1, Math.floor(gfn / 512) * 512, 3, 0x3781],
      ]);
      expect(pages.map((p) => p.mmuValidGen)).toEqual([0, 0, 0, 0]);
      const [r4, p3, p2, p1] = pages;
      expect(r4).toBe(root);
      expect([root.rootCount, mmu.roots]).toEqual([1, [root]]);

      // The leaf: present, RWX, WB, A, D; host- and MMU-writable; the host's pfn.
      const l = shadowLeaf(mmu, root, gfn);
      expect(l.sptep).toBe(3 * 512 + (gfn & 511));
      expect([l.lo & 0xfff, l.hi]).toEqual([0xb37, 0x06000000]);
      expect(sptePfn(l.lo, l.hi)).toBe(followPteLockless(vm.mm, vm.testVma.start, false));
      // Non-leaf SPTEs: present, RWX, A, pointing at the child's table; parent_ptes point back.
      const idx4 = Math.floor(gfn / 2 ** 27) & 511;
      const idx3 = (gfn >>> 18) & 511;
      const idx2 = (gfn >>> 9) & 511;
      expect([mmu.pool.lo[idx4], mmu.pool.lo[512 + idx3], mmu.pool.lo[1024 + idx2]]).toEqual([
        0x1907, 0x2907, 0x3907,
      ]);
      expect([r4.parentPtes, p3.parentPtes, p2.parentPtes, p1.parentPtes]).toEqual([
        0,
        rmapSpteVal(idx4),
        rmapSpteVal(512 + idx3),
        rmapSpteVal(1024 + idx2),
      ]);

      // The rmap of the gfn at 4K holds the leaf alone (the head is the SPTE itself).
      const slot = vm.kvm.memslots(0).gfnToMemslot(gfn)!;
      const rm = mmu.rmaps.of(slot);
      expect(rm.rmap[0][gfn - slot.baseGfn]).toBe(rmapSpteVal(l.sptep));
      expect([
        rm.rmap[0].filter((h) => h !== 0).length,
        rm.rmap[1].some((h) => h),
        rm.rmap[2].some((h) => h),
      ]).toEqual([1, false, false]);

      // Hash lookups: by gfn and role.
      expect(mmu.kvmMmuFindShadowPage(p1.gfn, 0x3781)).toBe(p1);
      expect(mmu.kvmMmuFindShadowPage(p1.gfn, 0x3782)).toBe(null);
      expect(mmu.hash.bucket(0)).toEqual([r4]);
      expect(mmu.hash.bucket(p2.gfn)).toEqual([p2]);
      expect(mmu.kvmMmuFindShadowPage(p3.gfn, kvmMmuChildRole(tdpRootRole(0, true), 7))).toBe(p3);
      expect(mmu.stats.snapshot()).toMatchObject({
        pagesAllocated: 4,
        nUsedMmuPages: 4,
        mmuCacheMiss: 5, // four creations and the lookup with the wrong role
        maxMmuRmapSize: 0,
        sptesPrefetched: 0,
      });
      expect(mmu.allocRoot(0)).toBe(root);
      expect(root.rootCount).toBe(2);
      // The same fault again finds the SPTE as it would make it.
      expect(shadowFault(t, mmu, root, gfn, true)).toBe(RET_PF_SPURIOUS);
      expect(mmu.pool.tables).toBe(4);
    });
    expect(vm.kvm.stats.tlbFlushes).toBe(0);
  });

  it('direct_map without mmu_lock held for write is a bug', () => {
    runOnVm({}, function* (t, vm) {
      const mmu = new ShadowMmu(vm.kvm);
      const root = mmu.allocRoot(0);
      const f = { gfn: testGfn(vm, 0), pfn: 1, goalLevel: 1, write: false, mapWritable: false };
      expect(() => mmu.map(t, root, f)).toThrow('direct_map: mmu_lock not held for write');
      vm.kvm.mmuLock.readLock(t);
      expect(() => mmu.map(t, root, f)).toThrow('mmu_lock not held for write');
      vm.kvm.mmuLock.readUnlock(t);
    });
  });

  it('prefetches the present, writable host pages of the aligned group of 8, with A clear', () => {
    runOnVm({}, function* (t, vm) {
      const mmu = new ShadowMmu(vm.kvm);
      const root = mmu.allocRoot(0);
      // A gfn at the start of an aligned group of PTE_PREFETCH_NUM (the test slot is not aligned).
      const g = testGfn(vm, (8 - (testGfn(vm, 0) % 8)) % 8);
      const slot = vm.kvm.memslots(0).gfnToMemslot(g)!;
      // The host maps gfns 9, 10, 11 and 13; 12 is missing, so the prefetch stops at 11.
      for (const i of [1, 2, 3, 5])
        kvmFaultinPfn(t, vm.kvm, slot, g + i, FOLL_WRITE, {
          pfn: 0,
          writable: false,
          refcountedPage: -1,
          level: 0,
        });
      expect(shadowFault(t, mmu, root, g, true)).toBe(RET_PF_FIXED);
      const lows = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => shadowLeaf(mmu, root, g + i).lo & 0xfff);
      expect(lows).toEqual([0xb37, 0xa37, 0xa37, 0xa37, 0, 0, 0, 0]);
      expect(shadowLeaf(mmu, root, g + 1).hi).toBe(0x06000000);
      expect(shadowLeaf(mmu, root, g + 4).hi).toBe(0x80000000); // SHADOW_NONPRESENT_VALUE
      const rm = mmu.rmaps.of(slot).rmap[0];
      const base = g - slot.baseGfn;
      expect([0, 1, 2, 3, 4].map((i) => rm[base + i])).toEqual([
        rmapSpteVal(shadowLeaf(mmu, root, g).sptep),
        rmapSpteVal(shadowLeaf(mmu, root, g + 1).sptep),
        rmapSpteVal(shadowLeaf(mmu, root, g + 2).sptep),
        rmapSpteVal(shadowLeaf(mmu, root, g + 3).sptep),
        0,
      ]);
      expect(mmu.stats.sptesPrefetched).toBe(3);
    });
  });
});
