/**
 * Models mm/gup.c: get_user_page_fast_only (getUserPageFastOnly) and get_user_pages_unlocked
 * (getUserPagesUnlocked), and the PTE-table lock a fault they take spins on.
 */
import type { SimThread } from '../sim/thread.ts';
import { handleMmFault, leafPfn, VM_FAULT_OK } from './fault.ts';
import type { Mm } from './mm.ts';
import { PTE_PRESENT, PTE_PSE, PTE_WRITE, ptePfn } from './page-table.ts';

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

/** The PTE table that maps `hva` (its index in `mm.pt`), or -1 if there is none or a huge leaf. */
export function pteTableOf(mm: Mm, hva: number): number {
  const idx = mm.pt.walk(mm.pgd, Math.floor(hva / 4096), 2, false);
  if (idx < 0) return -1;
  const e = mm.pt.entries[idx];
  return e & PTE_PRESENT && !(e & PTE_PSE) ? ptePfn(e) : -1;
}

/**
 * Before a fault on `hva` that handle_mm_fault must resolve (no present entry allows the access):
 * do_anonymous_page takes the PTE table's lock, so spin while another thread holds it (an MGLRU
 * walker scanning the table), or until the recorded end of a hold the fault's time falls in.
 * The test is made at the fault's time without a sync point first, unless the table is busy: a
 * hold taken later in the run at an earlier time is missed, a window of one fault's entry path.
 * This is the plain part: it returns true when the fault must go on in `waitForPteTable` (the table
 * is held now, or a recorded hold was waited out), false when it may fault in now.
 */
export function pteTableMustWait(t: SimThread, mm: Mm, hva: number, write: boolean): boolean {
  if (!mm.ptl.anyBusy(t)) return false;
  const table = pteTableOf(mm, hva);
  if (table < 0 || followPteLockless(mm, hva, write) >= 0) return false;
  return mm.ptl.heldByOther(t, table) || mm.ptl.waitRecorded(t, table) !== 0;
}

/** The rest of the wait for `hva`'s PTE table once `pteTableMustWait` returned true. */
export function* waitForPteTable(t: SimThread, mm: Mm, hva: number): Generator<void, void, void> {
  const table = pteTableOf(mm, hva);
  if (t.mustSync()) yield;
  while (mm.ptl.heldByOther(t, table)) yield mm.ptl.wait(t, table);
  mm.ptl.waitRecorded(t, table);
}
