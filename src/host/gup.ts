/**
 * Models mm/gup.c: get_user_page_fast_only (getUserPageFastOnly), get_user_pages_unlocked
 * (getUserPagesUnlocked), fixup_user_fault (fixupUserFault), the FOLL_* flags of
 * include/linux/mm_types.h, and the PTE-table lock a fault they take spins on.
 */
import type { SimThread } from '../sim/thread.ts';
import { handleMmFault, leafPfn, VM_FAULT_OK, VM_FAULT_OOM } from './fault.ts';
import { folioMarkAccessed } from './folio-mark-accessed.ts';
import type { Mm } from './mm.ts';
import { PTE_PRESENT, PTE_PSE, PTE_WRITE, ptePfn } from './page-table.ts';
import { VM_IO, VM_PFNMAP } from './vma.ts';

/** -EINTR. */
export const EINTR = -4;
/** -ENOMEM. */
export const ENOMEM = -12;
/** -EFAULT. */
export const EFAULT = -14;
/** -EAGAIN. */
export const EAGAIN = -11;
/** -EINVAL. */
export const EINVAL = -22;
/** -EHWPOISON. */
export const EHWPOISON = -133;

/** handle_mm_fault calls one GUP makes for a page before it gives up (-EFAULT). */
const GUP_FAULT_RETRIES = 3;

/** FOLL_WRITE: the caller wants the page writable (include/linux/mm_types.h, enum gup_flags). */
export const FOLL_WRITE = 1 << 0;
/** FOLL_NOWAIT: if a disk transfer is needed, start the I/O and return without waiting. */
export const FOLL_NOWAIT = 1 << 4;
/** FOLL_HWPOISON: return -EHWPOISON for a poisoned page instead of -EFAULT. */
export const FOLL_HWPOISON = 1 << 6;
/** FOLL_INTERRUPTIBLE: a non-fatal pending signal also stops GUP (-EINTR). */
export const FOLL_INTERRUPTIBLE = 1 << 11;
/** FOLL_HONOR_NUMA_FAULT: fault on PROT_NONE NUMA-hinting PTEs instead of following them. */
export const FOLL_HONOR_NUMA_FAULT = 1 << 12;

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

/** PageHWPoison: memory_failure marked the frame's memory corrupt. */
function pageHwpoison(mm: Mm, pfn: number): boolean {
  const poisoned = mm.host.mem.hwpoison;
  return poisoned.size !== 0 && poisoned.has(pfn);
}

/**
 * gup_fast's check of each page it grabs: a hardware-poisoned page is refused (memory_failure
 * unmaps it in the kernel, so the walk would not find it). Returns `pfn`, or -1.
 */
function gupFastPfn(mm: Mm, pfn: number): number {
  return pfn >= 0 && pageHwpoison(mm, pfn) ? -1 : pfn;
}

/**
 * get_user_page_fast_only (mm/gup.c): lockless; never faults. A special PTE (what remap_pfn_range
 * and vmf_insert_pfn install in a VM_PFNMAP VMA) is refused; otherwise the folio is grabbed with
 * folio_try_get (FOLL_GET), which fails on a page with refcount 0. Returns the pfn or -1.
 */
export function getUserPageFastOnly(t: SimThread, mm: Mm, hva: number, write: boolean): number {
  t.advance(mm.host.engine.profile.gupFastNs);
  const pfn = gupFastPfn(mm, followPteLockless(mm, hva, write));
  if (pfn < 0 || ptesSpecial(mm, hva)) return -1;
  return mm.host.mem.refs.folioTryGet(pfn) ? pfn : -1;
}

/** pte_special for the leaf mapping `hva`: set on every entry of a VM_PFNMAP VMA. */
export function ptesSpecial(mm: Mm, hva: number): boolean {
  const vma = mm.findVma(hva);
  return vma !== null && (vma.vmFlags & VM_PFNMAP) !== 0;
}

/**
 * get_user_pages_unlocked (mm/gup.c) for one page with `flags` (FOLL_*): takes mmap_lock for
 * reading, follows the page and faults it in with handle_mm_fault when it is missing or not
 * writable for a write. Returns the pfn or a negative errno: -EFAULT for no VMA, a VM_IO|VM_PFNMAP
 * VMA (check_vma_flags) or a refused fault; -ENOMEM when the fault ran out of memory; -EHWPOISON
 * for a poisoned page with FOLL_HWPOISON; -EINTR when FOLL_INTERRUPTIBLE and a signal is pending
 * (gup_signal_pending, checked before each page). The page comes back with a reference (FOLL_GET).
 * The model's handle_mm_fault does any I/O inline,
 * so it never returns VM_FAULT_RETRY and FOLL_NOWAIT does not stop it.
 */
export function getUserPagesUnlocked(t: SimThread, mm: Mm, hva: number, flags: number): number {
  const write = (flags & FOLL_WRITE) !== 0;
  mm.mmapLock.readLock(t);
  t.advance(mm.host.engine.profile.gupSlowNs);
  let pfn = EFAULT;
  const vma = mm.findVma(hva);
  if (flags & FOLL_INTERRUPTIBLE && t.signalPending) pfn = EINTR;
  else if (vma !== null && !(vma.vmFlags & (VM_IO | VM_PFNMAP))) {
    // __get_user_pages: follow_page_mask, and faultin_page then retry while nothing is mapped (a
    // NUMA hinting fault may migrate the page and map it read-only, so a write needs one more).
    pfn = followPteLockless(mm, hva, write);
    for (let tries = 0; pfn < 0 && tries < GUP_FAULT_RETRIES; tries++) {
      const r = handleMmFault(t, mm, hva, write);
      pfn = r === VM_FAULT_OK ? followPteLockless(mm, hva, write) : r === VM_FAULT_OOM ? ENOMEM : EFAULT;
      if (r !== VM_FAULT_OK) break;
    }
    if (pfn >= 0 && pageHwpoison(mm, pfn)) pfn = flags & FOLL_HWPOISON ? EHWPOISON : EFAULT;
    // try_grab_folio with FOLL_GET: WARN_ON_ONCE(folio_ref_count(folio) <= 0) → -ENOMEM.
    if (pfn >= 0) {
      const refs = mm.host.mem.refs;
      if (refs.count[refs.folioOf(pfn)] <= 0) {
        refs.report('get-on-zero', pfn, `GUP on pfn ${pfn} with refcount 0 (try_grab_folio: WARN_ON_ONCE)`);
        pfn = ENOMEM;
      } else refs.getPage(pfn);
    }
    // follow_page_pte with FOLL_TOUCH (get_user_pages_unlocked adds it): folio_mark_accessed.
    if (pfn >= 0 && pfn !== mm.host.mem.zeroPfn) folioMarkAccessed(mm.host, pfn);
  }
  mm.mmapLock.readUnlock(t);
  return pfn;
}

/**
 * fixup_user_fault (mm/gup.c) with mmap_lock held for reading: resolves a fault on `hva` for a
 * caller that walks page tables itself (hva_to_pfn_remapped). Returns 0, or -EFAULT when no VMA
 * permits the access or the fault fails. A VM_IO|VM_PFNMAP VMA is filled by its driver's
 * vm_ops->fault (device-mem.ts); without one the fault is VM_FAULT_SIGBUS (-EFAULT).
 * The model's fault never drops mmap_lock, so `unlocked` stays false.
 */
export function fixupUserFault(t: SimThread, mm: Mm, hva: number, write: boolean): number {
  const vma = mm.findVma(hva);
  if (vma === null || (write && !vma.writable)) return EFAULT;
  if (vma.vmFlags & (VM_IO | VM_PFNMAP) && vma.fault === null) return EFAULT;
  const r = handleMmFault(t, mm, hva, write);
  return r === VM_FAULT_OK ? 0 : r === VM_FAULT_OOM ? ENOMEM : EFAULT;
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
