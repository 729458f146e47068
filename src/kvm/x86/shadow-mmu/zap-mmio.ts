/**
 * Models the shadow MMU's whole-VM zaps that seed 001 argues about, in arch/x86/kvm/mmu/mmu.c:
 * kvm_mmu_zap_mmio_sptes (v5.0-rc, "Revert: drop kvm_mmu_zap_mmio_sptes"; with or without its
 * `goto restart`), kvm_mmu_zap_all (today's: walk active_mmu_pages under the write lock with
 * cond_resched_rwlock_write), and v4.20's kvm_mmu_invalidate_zap_all_pages with its
 * kvm_zap_obsolete_pages (restart after every zap, BATCH_ZAP_PAGES lock breaks).
 */
import type { SimThread } from '../../../sim/thread.ts';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from '../../vcpu.ts';
import { isObsoleteSp, type KvmMmuPage } from './mmu-page.ts';
import type { ShadowMmu } from './shadow-mmu.ts';
import {
  BATCH_ZAP_PAGES,
  condReschedRwlockWrite,
  kvmMmuCommitZapPage,
  kvmMmuPrepareZapPage,
  type PrepareZap,
} from './zap.ts';

/** What a walk of active_mmu_pages did: pages looked at and `goto restart`s taken. */
export interface ListWalkCounters {
  pagesVisited: number;
  restarts: number;
}

/**
 * kvm_mmu_zap_mmio_sptes: under mmu_lock (spin_lock in 2019; the write lock here), walk
 * active_mmu_pages from the head (list_for_each_entry_safe: newest first), zap every `mmio_cached`
 * page, and, with `restart` (the patch as posted), start again from the head whenever
 * kvm_mmu_prepare_zap_page zapped something, which it always does: one pass over the pages before
 * each zapped one, quadratic in the number of mmio_cached pages (Paolo). Without `restart` (Sean's
 * question: an MMIO SPTE has no children, so the next entry cannot go away) it is one pass.
 * The lock is never dropped. One remote flush and the frees at the end.
 */
// biome-ignore lint/correctness/useYield: a generator like the other strategies, but it never drops mmu_lock.
export function* kvmMmuZapMmioSptes(
  mmu: ShadowMmu,
  t: SimThread,
  restart: boolean,
  c: ListWalkCounters,
): Generator<void, void, void> {
  const lock = mmu.kvm.mmuLock;
  const head = mmu.activeMmuPages.head;
  const stepNs = mmu.kvm.engine.profile.tdpWalkLevelNs;
  const invalidList: KvmMmuPage[] = [];
  const out: PrepareZap = { nrZapped: 0 };
  lock.writeLock(t);
  walk: for (;;) {
    for (let sp = head.next!; sp !== head; ) {
      const node = sp.next!;
      t.advance(stepNs);
      c.pagesVisited++;
      if (sp.mmioCached) {
        kvmMmuPrepareZapPage(mmu, t, sp, invalidList, out);
        if (restart && out.nrZapped > 0) {
          c.restarts++;
          continue walk;
        }
      }
      sp = node;
    }
    break;
  }
  kvmMmuCommitZapPage(mmu, t, invalidList);
  lock.writeUnlock(t);
}

/**
 * kvm_mmu_zap_all (Paolo's preference in seed 001): under the write lock, walk active_mmu_pages
 * from the head and zap every page; restart when the zap made the list unstable (zapped children:
 * never for direct pages) or when cond_resched_rwlock_write dropped the lock. Commit at the end.
 * (kvm_tdp_mmu_zap_all, its TDP MMU half, is not modelled.)
 */
export function* kvmMmuZapAll(
  mmu: ShadowMmu,
  t: SimThread,
  c: ListWalkCounters,
): Generator<void, void, void> {
  const lock = mmu.kvm.mmuLock;
  const head = mmu.activeMmuPages.head;
  const stepNs = mmu.kvm.engine.profile.tdpWalkLevelNs;
  const invalidList: KvmMmuPage[] = [];
  const out: PrepareZap = { nrZapped: 0 };
  lock.writeLock(t);
  walk: for (;;) {
    for (let sp = head.next!; sp !== head; ) {
      const node = sp.next!;
      t.advance(stepNs);
      c.pagesVisited++;
      // WARN_ON_ONCE(sp->role.invalid): an invalid page is off the list here.
      if (sp.invalid) throw new Error('kvm_mmu_zap_all: invalid page on active_mmu_pages');
      if (kvmMmuPrepareZapPage(mmu, t, sp, invalidList, out) || (yield* condReschedRwlockWrite(mmu, t))) {
        c.restarts++;
        continue walk;
      }
      sp = node;
    }
    break;
  }
  kvmMmuCommitZapPage(mmu, t, invalidList);
  lock.writeUnlock(t);
}

/**
 * kvm_mmu_invalidate_zap_all_pages of v4.20 (the fast invalidate of 2013, what the MMIO wrap
 * called before seed 001): under mmu_lock, a new mmu_valid_gen (an unsigned long there; the
 * model's 0/1 toggle behaves the same, since every obsolete page is zapped before slots_lock is
 * dropped), kvm_reload_remote_mmus (here KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), then
 * kvm_zap_obsolete_pages: from the tail (oldest first) to the first valid page, skipping invalid
 * ones, a lock break after BATCH_ZAP_PAGES zapped pages, and `goto restart` after every zap
 * (cheap: the zapped page is gone from the tail).
 */
export function* kvmMmuInvalidateZapAllPages(
  mmu: ShadowMmu,
  t: SimThread,
  c: ListWalkCounters,
): Generator<void, void, void> {
  const kvm = mmu.kvm;
  const head = mmu.activeMmuPages.head;
  const stepNs = kvm.engine.profile.tdpWalkLevelNs;
  const invalidList: KvmMmuPage[] = [];
  const out: PrepareZap = { nrZapped: 0 };
  kvm.mmuLock.writeLock(t);
  mmu.invalidateRoots(t);
  kvm.makeAllCpusRequest(t, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
  let batch = 0;
  walk: for (;;) {
    for (let sp = head.prev!; sp !== head; ) {
      const node = sp.prev!;
      t.advance(stepNs);
      c.pagesVisited++;
      if (!isObsoleteSp(sp, mmu.mmuValidGen)) break walk;
      if (sp.invalid) {
        sp = node;
        continue;
      }
      if (batch >= BATCH_ZAP_PAGES && (yield* condReschedRwlockWrite(mmu, t))) {
        batch = 0;
        c.restarts++;
        continue walk;
      }
      kvmMmuPrepareZapPage(mmu, t, sp, invalidList, out);
      batch += out.nrZapped;
      if (out.nrZapped > 0) {
        c.restarts++;
        continue walk;
      }
      sp = node;
    }
    break;
  }
  kvmMmuCommitZapPage(mmu, t, invalidList);
  kvm.mmuLock.writeUnlock(t);
}
