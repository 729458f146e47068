/**
 * Models arch/x86/kvm/mmu/mmu.c: the shadow MMU's page limit and its recycling
 * (kvm_mmu_available_pages, make_mmu_pages_available, kvm_mmu_zap_oldest_mmu_pages,
 * kvm_mmu_change_mmu_pages, kvm_mmu_calculate_default_mmu_pages), and the two ways the limit is set
 * in arch/x86/kvm/x86.c: KVM_SET_NR_MMU_PAGES (kvm_vm_ioctl_set_nr_mmu_pages) and, without it,
 * the default recomputed when a memslot is created or deleted (kvm_arch_commit_memory_region).
 * The TDP MMU's pages are not counted (kvm_account_mmu_page is the shadow MMU's).
 */
import type { SimThread } from '../../../sim/thread.ts';
import type { Kvm } from '../../kvm.ts';
import type { KvmMmuPage } from './mmu-page.ts';
import type { ShadowMmu } from './shadow-mmu.ts';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage } from './zap.ts';

/** KVM_PERMILLE_MMU_PAGES: the default limit is 2% of the memslots' pages... */
export const KVM_PERMILLE_MMU_PAGES = 20;
/** KVM_MIN_ALLOC_MMU_PAGES: ...and at least 64; KVM_SET_NR_MMU_PAGES refuses fewer. */
export const KVM_MIN_ALLOC_MMU_PAGES = 64;
/** KVM_MIN_FREE_MMU_PAGES and KVM_REFILL_PAGES: below 5 free pages, recycle up to 25 free. */
export const KVM_MIN_FREE_MMU_PAGES = 5;
export const KVM_REFILL_PAGES = 25;
const ENOSPC = -28;
const EINVAL = -22;

/** kvm_mmu_available_pages: n_max_mmu_pages - n_used_mmu_pages, or 0. */
export function kvmMmuAvailablePages(mmu: ShadowMmu): number {
  const used = mmu.stats.nUsedMmuPages;
  return mmu.nMaxMmuPages > used ? mmu.nMaxMmuPages - used : 0;
}

/**
 * kvm_mmu_zap_oldest_mmu_pages (mmu_lock held for write): from the oldest page of
 * active_mmu_pages, prepare-zap every page no vCPU holds as a root until `nrToZap` pages are
 * zapped (restarting from the oldest if the list became unstable), then commit. Each page looked
 * at costs one walk step. Returns the pages zapped (kvm->stat.mmu_recycled grows by as many).
 */
export function kvmMmuZapOldestMmuPages(mmu: ShadowMmu, t: SimThread, nrToZap: number): number {
  const head = mmu.activeMmuPages.head;
  const stepNs = mmu.kvm.engine.profile.tdpWalkLevelNs;
  const invalid: KvmMmuPage[] = [];
  const out = { nrZapped: 0 };
  let total = 0;
  restart: for (;;) {
    for (let sp = head.prev!; sp !== head; ) {
      // list_for_each_entry_safe_reverse: the next (newer) page is read before sp is zapped.
      const tmp = sp.prev!;
      t.advance(stepNs);
      if (sp.rootCount > 0) {
        sp = tmp;
        continue;
      }
      const unstable = kvmMmuPrepareZapPage(mmu, t, sp, invalid, out);
      total += out.nrZapped;
      if (total >= nrToZap) break restart;
      if (unstable) continue restart;
      sp = tmp;
    }
    break;
  }
  kvmMmuCommitZapPage(mmu, t, invalid);
  mmu.stats.mmuRecycled += total;
  return total;
}

/**
 * make_mmu_pages_available (direct_page_fault, mmu_lock held for write): with fewer than
 * KVM_MIN_FREE_MMU_PAGES pages left, zap the oldest to get KVM_REFILL_PAGES free. The check is
 * soft (one free page is enough). Returns 0, or -ENOSPC when every page is an active root.
 */
export function makeMmuPagesAvailable(mmu: ShadowMmu, t: SimThread): number {
  const avail = kvmMmuAvailablePages(mmu);
  if (avail >= KVM_MIN_FREE_MMU_PAGES) return 0;
  kvmMmuZapOldestMmuPages(mmu, t, KVM_REFILL_PAGES - avail);
  return kvmMmuAvailablePages(mmu) === 0 ? ENOSPC : 0;
}

/**
 * kvm_mmu_change_mmu_pages: the new limit, after zapping the oldest pages above it under mmu_lock.
 * The model takes mmu_lock only when pages must go: setting the limit alone shows nothing another
 * thread could see half done (and memslot updates would otherwise take the lock twice more).
 */
export function kvmMmuChangeMmuPages(mmu: ShadowMmu, t: SimThread, goal: number): void {
  let g = goal;
  if (mmu.stats.nUsedMmuPages > g) {
    const lock = mmu.kvm.mmuLock;
    lock.writeLock(t);
    kvmMmuZapOldestMmuPages(mmu, t, mmu.stats.nUsedMmuPages - g);
    g = mmu.stats.nUsedMmuPages;
    lock.writeUnlock(t);
  }
  mmu.nMaxMmuPages = g;
}

/** kvm_mmu_calculate_default_mmu_pages: 2% of every address space's memslot pages, at least 64. */
export function kvmMmuCalculateDefaultMmuPages(kvm: Kvm): number {
  let nrPages = 0;
  for (let as = 0; as < kvm.nrAs; as++) for (const s of kvm.memslots(as).byGfn) nrPages += s.npages;
  return Math.max(Math.floor((nrPages * KVM_PERMILLE_MMU_PAGES) / 1000), KVM_MIN_ALLOC_MMU_PAGES);
}

/** kvm_arch_commit_memory_region's part for a created or deleted memslot: the default limit, unless set. */
export function kvmMmuCommitMemslotChange(mmu: ShadowMmu, t: SimThread): void {
  if (mmu.nRequestedMmuPages === 0) kvmMmuChangeMmuPages(mmu, t, kvmMmuCalculateDefaultMmuPages(mmu.kvm));
}

/** KVM_SET_NR_MMU_PAGES (kvm_vm_ioctl_set_nr_mmu_pages): 0 or -EINVAL below KVM_MIN_ALLOC_MMU_PAGES. */
export function kvmVmIoctlSetNrMmuPages(mmu: ShadowMmu, t: SimThread, nr: number): number {
  if (!Number.isSafeInteger(nr) || nr < KVM_MIN_ALLOC_MMU_PAGES) return EINVAL;
  kvmMmuChangeMmuPages(mmu, t, nr);
  mmu.nRequestedMmuPages = nr;
  return 0;
}
