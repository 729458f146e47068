/**
 * Models shadow-page zapping in arch/x86/kvm/mmu/mmu.c: kvm_mmu_prepare_zap_page
 * (__kvm_mmu_prepare_zap_page with kvm_mmu_page_unlink_children, mmu_page_zap_pte and
 * kvm_mmu_unlink_parents), kvm_mmu_commit_zap_page, kvm_zap_obsolete_pages (BATCH_ZAP_PAGES, lock
 * breaks with cond_resched_rwlock_write), kvm_mmu_zap_all_fast, and mmu_free_root_page under
 * kvm_mmu_free_roots.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from '../../vcpu.ts';
import { isShadowPresentPte } from '../mmio-spte.ts';
import { isLastSpte } from '../spte.ts';
import { zapMmioSpte } from './mmio-sptes.ts';
import { isObsoleteSp, type KvmMmuPage, ROLE_INVALID } from './mmu-page.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** BATCH_ZAP_PAGES: kvm_zap_obsolete_pages may break the lock after this many zapped pages. */
export const BATCH_ZAP_PAGES = 10;

/** What __kvm_mmu_prepare_zap_page reports besides its return value. */
export interface PrepareZap {
  /** *nr_zapped: child pages zapped, plus the page itself when it went to the invalid list. */
  nrZapped: number;
}

/**
 * mmu_page_zap_pte for each of the page's 512 SPTEs (kvm_mmu_page_unlink_children): a leaf is
 * dropped (off its rmap), a table pointer is unlinked from its child (drop_parent_pte), an MMIO
 * SPTE is cleared. A direct
 * child of a non-nested MMU is not zapped with its parent, so this zaps no pages and returns 0.
 */
function kvmMmuPageUnlinkChildren(mmu: ShadowMmu, t: SimThread, sp: KvmMmuPage): number {
  const pool = mmu.pool;
  const layout = mmu.kvm.mmioGen.layout;
  const base = sp.spt * 512;
  for (let i = 0; i < 512; i++) {
    const sptep = base + i;
    if (!isShadowPresentPte(layout, pool, sptep)) {
      zapMmioSpte(mmu, sptep);
      continue;
    }
    if (isLastSpte(pool.lo[sptep], sp.level)) mmu.dropSpte(t, sptep);
    else mmu.dropParentPte(t, mmu.sps[pool.child(sptep)]!, sptep);
  }
  return 0;
}

/** kvm_mmu_unlink_parents: drop_parent_pte for every parent SPTE that points at the page. */
function kvmMmuUnlinkParents(mmu: ShadowMmu, t: SimThread, sp: KvmMmuPage): void {
  for (let p = mmu.pteLists.first(sp.parentPtes); p >= 0; p = mmu.pteLists.first(sp.parentPtes))
    mmu.dropParentPte(t, sp, p);
}

/**
 * __kvm_mmu_prepare_zap_page (mmu_lock held for write): unlink children and parents, then a page
 * no vCPU uses as its root moves to `invalidList` (kvm_unaccount_mmu_page); an active root only
 * leaves active_mmu_pages and is freed when its last user puts it (a valid one requests
 * KVM_REQ_MMU_FREE_OBSOLETE_ROOTS). The page becomes role.invalid. Returns whether
 * active_mmu_pages became unstable (children were zapped); `out.nrZapped` counts zapped pages.
 */
export function kvmMmuPrepareZapPage(
  mmu: ShadowMmu,
  t: SimThread,
  sp: KvmMmuPage,
  invalidList: KvmMmuPage[],
  out: PrepareZap,
): boolean {
  if (mmu.kvm.mmuLock.writer !== t) throw new Error('kvm_mmu_prepare_zap_page: mmu_lock not held for write');
  mmu.stats.mmuShadowZapped++;
  // mmu_zap_unsync_children: a direct page has no unsync children.
  let nrZapped = kvmMmuPageUnlinkChildren(mmu, t, sp);
  kvmMmuUnlinkParents(mmu, t, sp);
  const listUnstable = nrZapped > 0;
  let zappedRoot = false;
  if (sp.rootCount === 0) {
    nrZapped++;
    // Already invalid pages (former roots) are not on active_mmu_pages any more.
    if (!sp.invalid) mmu.activeMmuPages.del(sp);
    invalidList.push(sp);
    mmu.stats.nUsedMmuPages--;
  } else {
    if (!sp.invalid) mmu.activeMmuPages.del(sp);
    zappedRoot = !isObsoleteSp(sp, mmu.mmuValidGen);
  }
  sp.role = (sp.role | ROLE_INVALID) >>> 0;
  if (zappedRoot) kvmMakeFreeObsoleteRootsRequest(mmu, t);
  out.nrZapped = nrZapped;
  return listUnstable;
}

/** kvm_make_all_cpus_request(kvm, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), counted. */
function kvmMakeFreeObsoleteRootsRequest(mmu: ShadowMmu, t: SimThread): void {
  mmu.stats.freeObsoleteRootsRequests++;
  mmu.kvm.makeAllCpusRequest(t, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
}

/**
 * kvm_mmu_commit_zap_page: one remote TLB flush (which also waits out lockless walkers), then
 * every page of the invalid list is freed. Freeing a page is charged as allocating one.
 */
export function kvmMmuCommitZapPage(mmu: ShadowMmu, t: SimThread, invalidList: KvmMmuPage[]): void {
  if (invalidList.length === 0) return;
  mmu.kvm.flushRemoteTlbs(t);
  const ns = mmu.kvm.engine.profile.spAllocNs;
  for (const sp of invalidList) {
    if (!sp.invalid || sp.rootCount !== 0)
      throw new Error('kvm_mmu_commit_zap_page: page still valid or in use');
    t.advance(ns);
    mmu.kvmMmuFreeShadowPage(sp);
  }
  invalidList.length = 0;
}

/**
 * cond_resched_rwlock_write: gives mmu_lock up when the scheduler wants this CPU (need_resched: a
 * thread waits for a CPU and this one's time slice is over), lets others run, and takes the lock
 * again.
 * rwlock_needbreak (a contended lock) counts only under a preemptible kernel; the model's hosts run
 * a voluntary-preemption server kernel, so a waiter on mmu_lock alone does not break it. (Breaking
 * whenever another thread was behind let vCPUs refault between every page of kvm_mmu_zap_all, which
 * then restarted for ever.) Returns whether the lock was dropped.
 */
export function* condReschedRwlockWrite(mmu: ShadowMmu, t: SimThread): Generator<void, boolean, void> {
  if (!t.needResched()) return false;
  const lock = mmu.kvm.mmuLock;
  lock.writeUnlock(t);
  yield;
  lock.writeLock(t);
  mmu.stats.lockBreaks++;
  return true;
}

/**
 * kvm_zap_obsolete_pages (mmu_lock held for write): from the oldest page, zap every obsolete page
 * until the first valid one (active_mmu_pages is FIFO, so none is older); after BATCH_ZAP_PAGES
 * zapped pages a lock break may come, after which the walk restarts from the tail. The zapped
 * pages are committed (flushed and freed) at the end. Each page looked at costs one walk step.
 */
export function* kvmZapObsoletePages(mmu: ShadowMmu, t: SimThread): Generator<void, void, void> {
  const head = mmu.activeMmuPages.head;
  const stepNs = mmu.kvm.engine.profile.tdpWalkLevelNs;
  const invalidList: KvmMmuPage[] = [];
  const out: PrepareZap = { nrZapped: 0 };
  let batch = 0;
  restart: for (;;) {
    for (let sp = head.prev!; sp !== head; ) {
      const node = sp.prev!;
      t.advance(stepNs);
      mmu.stats.obsoleteVisited++;
      if (!isObsoleteSp(sp, mmu.mmuValidGen)) break restart;
      // WARN_ON_ONCE(sp->role.invalid): an invalid page never comes back to the list.
      if (sp.invalid) throw new Error('kvm_zap_obsolete_pages: invalid page on active_mmu_pages');
      if (batch >= BATCH_ZAP_PAGES && (yield* condReschedRwlockWrite(mmu, t))) {
        batch = 0;
        mmu.stats.obsoleteRestarts++;
        continue restart;
      }
      const unstable = kvmMmuPrepareZapPage(mmu, t, sp, invalidList, out);
      batch += out.nrZapped;
      if (unstable) {
        mmu.stats.obsoleteRestarts++;
        continue restart;
      }
      sp = node;
    }
    break;
  }
  kvmMmuCommitZapPage(mmu, t, invalidList);
}

/**
 * kvm_mmu_zap_all_fast (slots_lock held): under mmu_lock for write, toggle mmu_valid_gen so every
 * existing page is obsolete, ask every vCPU to drop its obsolete root
 * (KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), and zap the obsolete pages with lock breaks.
 */
export function* kvmMmuZapAllFast(mmu: ShadowMmu, t: SimThread): Generator<void, void, void> {
  const lock = mmu.kvm.mmuLock;
  lock.writeLock(t);
  mmu.stats.zapAllFast++;
  mmu.invalidateRoots(t);
  kvmMakeFreeObsoleteRootsRequest(mmu, t);
  yield* kvmZapObsoletePages(mmu, t);
  lock.writeUnlock(t);
}

/**
 * kvm_mmu_free_roots for a vCPU's current root (mmu_free_root_page): under mmu_lock for write, put
 * the root; the last put of an invalid root zaps and frees it.
 */
export function kvmMmuFreeRoot(mmu: ShadowMmu, t: SimThread, root: KvmMmuPage): void {
  const lock = mmu.kvm.mmuLock;
  lock.writeLock(t);
  const invalidList: KvmMmuPage[] = [];
  if (--root.rootCount === 0) {
    mmu.roots.splice(mmu.roots.indexOf(root), 1);
    if (root.invalid) kvmMmuPrepareZapPage(mmu, t, root, invalidList, { nrZapped: 0 });
  }
  kvmMmuCommitZapPage(mmu, t, invalidList);
  lock.writeUnlock(t);
}
