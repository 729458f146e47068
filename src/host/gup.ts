import type { SimThread } from '../sim/thread.ts';
import { handleMmFault, leafPfn, VM_FAULT_OK } from './fault.ts';
import type { Mm } from './mm.ts';
import { PTE_PRESENT, PTE_WRITE } from './page-table.ts';

/** -EFAULT. */
export const EFAULT = -14;

/**
 * Looks up the present leaf that maps `hva` without locks (the IRQs-off walk of gup_fast).
 * Returns the pfn, or -1 if nothing is mapped or a write is asked of a read-only entry.
 */
export function followPteLockless(mm: Mm, hva: number, write: boolean): number {
  const vpn = Math.floor(hva / 4096);
  const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
  if (idx < 0) return -1;
  const e = mm.pt.entries[idx];
  if (!(e & PTE_PRESENT) || (write && !(e & PTE_WRITE))) return -1;
  return leafPfn(e, mm.pt.hitLevel, vpn);
}

/** get_user_page_fast_only (mm/gup.c): lockless; never faults. Returns the pfn or -1. */
export function getUserPageFastOnly(t: SimThread, mm: Mm, hva: number, write: boolean): number {
  t.advance(mm.host.engine.profile.gupFastNs);
  return followPteLockless(mm, hva, write);
}

/**
 * get_user_pages_unlocked (mm/gup.c): takes mmap_lock for reading, follows the page and faults it
 * in with handle_mm_fault when it is missing or not writable for a write. Returns the pfn or -EFAULT.
 */
export function getUserPagesUnlocked(t: SimThread, mm: Mm, hva: number, write: boolean): number {
  mm.mmapLock.readLock(t);
  t.advance(mm.host.engine.profile.gupSlowNs);
  let pfn = -1;
  if (mm.findVma(hva) !== null) {
    pfn = followPteLockless(mm, hva, write);
    if (pfn < 0 && handleMmFault(t, mm, hva, write) === VM_FAULT_OK) pfn = followPteLockless(mm, hva, write);
  }
  mm.mmapLock.readUnlock(t);
  return pfn < 0 ? EFAULT : pfn;
}

/** Host page-table level of the leaf mapping `hva` (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), 1 if none. */
export function hostLeafLevel(mm: Mm, hva: number): number {
  const idx = mm.pt.walk(mm.pgd, Math.floor(hva / 4096), 1, false);
  if (idx < 0) return 1;
  return mm.pt.hitLevel;
}
