/**
 * Models include/linux/mmu_notifier.h: ptep/pmdp_clear_young_notify and
 * ptep/pmdp_clear_flush_young_notify over ptep_test_and_clear_young.
 */
import type { SimThread } from '../sim/thread.ts';
import type { Mm } from './mm.ts';
import { PTE_ACCESSED } from './page-table.ts';

/** ptep_test_and_clear_young / pmdp_test_and_clear_young: the primary MMU's Accessed bit only. */
export function ptepTestAndClearYoung(t: SimThread, mm: Mm, entryIdx: number): boolean {
  const E = mm.pt.entries;
  t.advance(mm.host.engine.profile.pteYoungNs);
  const young = (E[entryIdx] & PTE_ACCESSED) !== 0;
  if (young) E[entryIdx] &= ~PTE_ACCESSED;
  return young;
}

/**
 * ptep_clear_young_notify / pmdp_clear_young_notify (include/linux/mmu_notifier.h): test and clear
 * the host entry's Accessed bit, then OR in mmu_notifier_clear_young over the entry's range (a page,
 * or PMD_SIZE for a PMD leaf). No TLB flush. `entryIdx` is the leaf's index in mm's page tables.
 */
export function ptepClearYoungNotify(
  t: SimThread,
  mm: Mm,
  addr: number,
  entryIdx: number,
  size: number,
): boolean {
  const young = ptepTestAndClearYoung(t, mm, entryIdx);
  return mm.host.mmuNotifier.clearYoung(t, mm, addr, addr + size) || young;
}

/** ptep_clear_young_notify with mmu_notifier_clear_young_fast_only (seed 003 v7). */
export function ptepClearYoungNotifyFastOnly(
  t: SimThread,
  mm: Mm,
  addr: number,
  entryIdx: number,
  size: number,
): boolean {
  const young = ptepTestAndClearYoung(t, mm, entryIdx);
  return mm.host.mmuNotifier.clearYoungFastOnly(t, mm, addr, addr + size) || young;
}

/**
 * ptep_clear_flush_young_notify / pmdp_clear_flush_young_notify: the same with
 * mmu_notifier_clear_flush_young (reclaim's rmap path).
 */
export function ptepClearFlushYoungNotify(
  t: SimThread,
  mm: Mm,
  addr: number,
  entryIdx: number,
  size: number,
): boolean {
  const young = ptepTestAndClearYoung(t, mm, entryIdx);
  return mm.host.mmuNotifier.clearFlushYoung(t, mm, addr, addr + size) || young;
}
