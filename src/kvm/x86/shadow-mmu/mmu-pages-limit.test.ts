import { describe, expect, it } from 'vitest';
import { mmioAccess } from '../../../testing/mmu-conformance-mmio.ts';
import { runOnVm } from '../../../testing/vm-fixture.ts';
import {
  KVM_MIN_ALLOC_MMU_PAGES,
  kvmMmuCalculateDefaultMmuPages,
  kvmVmIoctlSetNrMmuPages,
} from './mmu-pages-limit.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** MMIO gfns 1 GiB apart from 64 GiB: each needs a level-2 and a level-1 shadow page of its own. */
const GIB_PAGES = 1 << 18;
const mmioGfn = (i: number) => 64 * GIB_PAGES + i * GIB_PAGES;

describe('the shadow MMU page limit (n_max_mmu_pages) and recycling of the oldest pages', () => {
  it('the default is 2% of the memslot pages, at least 64, recomputed when a memslot is created', () => {
    const seen: number[] = [];
    runOnVm({ tdpMmu: false, vcpuBytes: 64 << 20 }, function* (t, vm) {
      const mmu = vm.kvm.mmu as ShadowMmu;
      // Memslot 0 (512 + 35 guest page-table pages + 5 stack pages) and 16384 test pages.
      seen.push(mmu.nMaxMmuPages, kvmMmuCalculateDefaultMmuPages(vm.kvm));
      const more = vm.kvm.mm.mmap(64 << 20, 'anonymous');
      expect(yield* vm.kvm.setMemoryRegion(t, 0, 2, 0, 0x100000000, 64 << 20, more.start)).toBe(0);
      seen.push(mmu.nMaxMmuPages);
      // KVM_SET_NR_MMU_PAGES: below 64 is -EINVAL; once set, memslot changes keep it.
      seen.push(kvmVmIoctlSetNrMmuPages(mmu, t, 63), kvmVmIoctlSetNrMmuPages(mmu, t, 100), mmu.nMaxMmuPages);
      expect(yield* vm.kvm.setMemoryRegion(t, 0, 2, 0, 0x100000000, 0, more.start)).toBe(0);
      seen.push(mmu.nMaxMmuPages);
    });
    expect(seen).toEqual([
      Math.floor(((16384 + 552) * 20) / 1000),
      338,
      Math.floor(((2 * 16384 + 552) * 20) / 1000),
      -22,
      0,
      100,
      100,
    ]);
  });

  it('past the limit, faults recycle the oldest pages (never the root), 25 free at a time', () => {
    const seen: unknown[] = [];
    runOnVm({ tdpMmu: false }, function* (t, vm) {
      const mmu = vm.kvm.mmu as ShadowMmu;
      const v = vm.kvm.vcpus[0];
      expect(mmu.nMaxMmuPages).toBe(KVM_MIN_ALLOC_MMU_PAGES);
      let peak = 0;
      for (let i = 0; i < 40; i++) {
        expect(yield* mmioAccess(t, v, mmioGfn(i))).toBe('mmio');
        peak = Math.max(peak, mmu.stats.nUsedMmuPages);
      }
      const root = v.root;
      seen.push(peak, mmu.stats.nUsedMmuPages, mmu.stats.mmuRecycled, mmu.stats.pagesAllocated);
      // The first MMIO gfns' pages were the oldest: touching them again faults anew.
      const created = vm.kvm.mmioGen.stats.mmioSptesCreated;
      expect(yield* mmioAccess(t, v, mmioGfn(0))).toBe('mmio');
      seen.push(vm.kvm.mmioGen.stats.mmioSptesCreated - created, v.root === root, root!.invalid);
    });
    // 40 gfns: the root, one level-3 page and a level-2 and level-1 page each (82 pages, 83 with
    // the one the refault made). A fault with fewer than 5 pages free zaps the oldest non-root
    // pages until 25 are free: twice 21 (at 59 used and 4 free), so the count peaks at 60.
    expect(seen).toEqual([60, 41, 42, 83, 1, true, false]);
  });

  it('KVM_SET_NR_MMU_PAGES below the pages in use zaps the oldest down to it', () => {
    const seen: number[] = [];
    runOnVm({ tdpMmu: false }, function* (t, vm) {
      const mmu = vm.kvm.mmu as ShadowMmu;
      const v = vm.kvm.vcpus[0];
      expect(kvmVmIoctlSetNrMmuPages(mmu, t, 200)).toBe(0);
      for (let i = 0; i < 40; i++) expect(yield* mmioAccess(t, v, mmioGfn(i))).toBe('mmio');
      seen.push(mmu.stats.nUsedMmuPages, mmu.stats.mmuRecycled);
      expect(kvmVmIoctlSetNrMmuPages(mmu, t, 64)).toBe(0);
      seen.push(mmu.stats.nUsedMmuPages, mmu.stats.mmuRecycled, mmu.nMaxMmuPages);
    });
    expect(seen).toEqual([82, 0, 64, 18, 64]);
  });
});
