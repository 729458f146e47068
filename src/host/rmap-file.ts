/**
 * Models mm/rmap.c for a regular file's folio, over the file's i_mmap (every VMA that maps the
 * file): folio_mkclean (page_vma_mkclean_one), try_to_unmap (try_to_unmap_one) and
 * folio_referenced (folio_referenced_one). Each VMA's part runs inside MMU-notifier calls, so
 * secondary MMUs (KVM) drop or age their mappings before the primary MMU's PTE changes.
 */
import type { SimThread } from '../sim/thread.ts';
import type { Host } from './host.ts';
import type { MmuNotifierRange } from './mmu-notifier.ts';
import { PAGE_SIZE, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_WRITE, ptePfn } from './page-table.ts';
import { folioMarkDirty } from './page-writeback.ts';
import type { FileMapping, Vma } from './vma.ts';

/** The PTE index mapping page `off` of the file in `vma`, if it maps `pfn`; else -1. */
function mappedPte(vma: Vma, off: number, pfn: number): number {
  const mm = vma.mm;
  const idx = mm.pt.walk(mm.pgd, vma.start / PAGE_SIZE + off, 1, false);
  if (idx < 0) return -1;
  const e = mm.pt.entries[idx];
  return e & PTE_PRESENT && ptePfn(e) === pfn ? idx : -1;
}

/** The notifier range of page `off` in `vma`. */
function pageRange(vma: Vma, off: number, event: MmuNotifierRange['event']): MmuNotifierRange {
  const start = vma.start + off * PAGE_SIZE;
  return { mm: vma.mm, start, end: start + PAGE_SIZE, event, blockable: true };
}

/**
 * rmap_walk_file: with the file's i_mmap lock held for read and the walk's own cost charged once,
 * `one` runs for each VMA that maps page `off` of the file (rmap_one of the rmap_walk_control).
 */
function rmapWalkFile(t: SimThread, host: Host, file: FileMapping, one: (vma: Vma) => void): void {
  file.immapLock.readLock(t);
  t.advance(host.engine.profile.rmapWalkNs);
  for (const vma of file.mappers) one(vma);
  file.immapLock.readUnlock(t);
}

/**
 * folio_mkclean (the folio is locked): rmap_walk over the file's shared VMAs (invalid_mkclean_vma
 * skips private ones; all model mappings are shared) with page_vma_mkclean_one:
 * invalidate_range_start with MMU_NOTIFY_PROTECTION_PAGE (KVM zaps its SPTEs), then a PTE that
 * is dirty or writable is cleared and flushed, write-protected and cleaned; invalidate_range_end.
 * Returns the number of PTEs cleaned.
 */
export function folioMkclean(t: SimThread, host: Host, file: FileMapping, off: number, pfn: number): number {
  let cleaned = 0;
  rmapWalkFile(t, host, file, (vma) => {
    const range = pageRange(vma, off, 'protection_page');
    host.mmuNotifier.invalidateRangeStart(t, range);
    const idx = mappedPte(vma, off, pfn);
    const e = idx >= 0 ? vma.mm.pt.entries[idx] : 0;
    if (e & (PTE_DIRTY | PTE_WRITE)) {
      // ptep_clear_flush, pte_wrprotect, pte_mkclean, set_pte_at.
      vma.mm.pt.entries[idx] = e & ~(PTE_DIRTY | PTE_WRITE);
      t.advance(host.engine.profile.unmapNs);
      cleaned++;
    }
    host.mmuNotifier.invalidateRangeEnd(t, range);
  });
  return cleaned;
}

/**
 * try_to_unmap for a file folio: in each VMA, invalidate_range_start (MMU_NOTIFY_CLEAR), clear
 * and flush the PTE, move its dirty bit to the folio (folio_mark_dirty), invalidate_range_end.
 * Returns whether the folio is unmapped everywhere (always, in the model).
 */
export function tryToUnmapFile(
  t: SimThread,
  host: Host,
  file: FileMapping,
  off: number,
  pfn: number,
): boolean {
  rmapWalkFile(t, host, file, (vma) => {
    const range = pageRange(vma, off, 'clear');
    host.mmuNotifier.invalidateRangeStart(t, range);
    const idx = mappedPte(vma, off, pfn);
    if (idx >= 0) {
      const e = vma.mm.pt.entries[idx];
      vma.mm.pt.entries[idx] = 0;
      vma.mm.rss--;
      t.advance(host.engine.profile.unmapNs);
      if (e & PTE_DIRTY) folioMarkDirty(host, pfn);
    }
    host.mmuNotifier.invalidateRangeEnd(t, range);
  });
  return true;
}

/**
 * folio_referenced for a file folio: in each VMA, ptep_clear_flush_young_notify (the PTE's
 * Accessed bit, test-and-cleared, ORed with the secondary MMUs' clear_flush_young, which ages
 * KVM's SPTEs). Returns the number of references found.
 */
export function folioReferencedFile(
  t: SimThread,
  host: Host,
  file: FileMapping,
  off: number,
  pfn: number,
): number {
  let referenced = 0;
  rmapWalkFile(t, host, file, (vma) => {
    const idx = mappedPte(vma, off, pfn);
    if (idx < 0) return;
    const entries = vma.mm.pt.entries;
    let young = (entries[idx] & PTE_ACCESSED) !== 0;
    entries[idx] &= ~PTE_ACCESSED;
    const addr = vma.start + off * PAGE_SIZE;
    young = host.mmuNotifier.clearFlushYoung(t, vma.mm, addr, addr + PAGE_SIZE) || young;
    if (young) referenced++;
  });
  return referenced;
}
