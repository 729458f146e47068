/**
 * Models the regular-file fault paths of mm/memory.c (do_read_fault, do_shared_fault, do_wp_page →
 * wp_page_shared, fault_dirty_shared_page; do_cow_fault for a private mapping) with mm/filemap.c's
 * filemap_fault (page cache lookup, or a new folio read from disk) and filemap_page_mkwrite.
 */
import type { SimThread } from '../sim/thread.ts';
import { mapNewAnonFolio, newAnonFolio, VM_FAULT_OK, VM_FAULT_OOM } from './fault.ts';
import type { Mm } from './mm.ts';
import { mkPte, PAGE_SIZE, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_WRITE, ptePfn } from './page-table.ts';
import { folioMarkDirty } from './page-writeback.ts';
import { FILE_SHADOW, type FileMapping, type Vma } from './vma.ts';

/**
 * filemap_page_mkwrite: under the folio lock, folio_mark_dirty (and file_update_time); the folio
 * lock serialises it against folio_clear_dirty_for_io. folio_wait_stable is not modelled (the
 * device does not require stable pages).
 */
function filemapPageMkwrite(mm: Mm, pfn: number): void {
  folioMarkDirty(mm.host, pfn);
}

/** fault_dirty_shared_page: folio_mark_dirty after a write fault made the PTE writable. */
function faultDirtySharedPage(mm: Mm, pfn: number): void {
  folioMarkDirty(mm.host, pfn);
}

/**
 * filemap_fault: the page-cache folio at `off`, or a new one read from disk (a page reclaim
 * dropped keeps a shadow entry; its refault goes to the multi-gen LRU). Returns the pfn or -1.
 */
function filemapFault(t: SimThread, mm: Mm, vma: Vma, file: FileMapping, hva: number, off: number): number {
  const host = mm.host;
  let pfn = file.pages[off];
  if (pfn >= 0) return pfn;
  const old = pfn;
  pfn = newAnonFolio(t, mm, vma, hva, 0, false);
  if (pfn < 0) return -1;
  // filemap_read_folio.
  host.faultStats.fileReads++;
  t.advance(t.jittered(host.engine.profile.fileReadNs));
  host.mem.data[pfn] = file.disk![off];
  if (old === FILE_SHADOW && file.shadow !== null) host.lruGen?.onRefault(pfn, file.shadow, off);
  file.pages[off] = pfn;
  host.lru.add(t, pfn);
  return pfn;
}

/**
 * A fault on a shared mapping of a regular file. A write to a present read-only PTE is do_wp_page
 * → wp_page_shared: page_mkwrite (when the VMA wants write notification), make the PTE writable
 * and dirty, fault_dirty_shared_page. A missing PTE is filled from filemap_fault: a write
 * (do_shared_fault) maps it writable and dirty after page_mkwrite and dirties the folio; a read
 * (do_read_fault) maps it read-only when the VMA wants write notification (so the first write
 * faults), else with vm_page_prot, writable and clean.
 */
export function sharedFileFault(t: SimThread, mm: Mm, vma: Vma, hva: number, write: boolean): number {
  const host = mm.host;
  const file = vma.file!;
  const stats = host.faultStats;
  const vpn = Math.floor(hva / PAGE_SIZE);
  const off = vpn - vma.start / PAGE_SIZE;
  let idx = mm.pt.walk(mm.pgd, vpn, 1, true);
  t.advance(4 * host.engine.profile.ptWalkLevelNs);
  const e = mm.pt.entries[idx];
  if (e & PTE_PRESENT) {
    if (!write || e & PTE_WRITE) {
      // A spurious fault: the entry allows the access; the fault sets Accessed (and Dirty).
      stats.spurious++;
      mm.pt.entries[idx] = e | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
      return VM_FAULT_OK;
    }
    stats.wpShared++;
    const pfn = ptePfn(e);
    if (file.writenotify) filemapPageMkwrite(mm, pfn);
    mm.pt.entries[idx] = e | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY;
    faultDirtySharedPage(mm, pfn);
    return VM_FAULT_OK;
  }
  stats.file++;
  const pfn = filemapFault(t, mm, vma, file, hva, off);
  if (pfn < 0) return VM_FAULT_OOM;
  // The lookup, reference and lock of the folio, page_mkwrite, the file rmap and the dirtying.
  t.advance(t.jittered(host.engine.profile.filemapFaultNs));
  idx = mm.pt.walk(mm.pgd, vpn, 1, true);
  if (write) {
    if (file.writenotify) filemapPageMkwrite(mm, pfn);
    mm.pt.entries[idx] = mkPte(pfn, PTE_PRESENT | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY);
    faultDirtySharedPage(mm, pfn);
  } else {
    const w = vma.writable && !file.writenotify ? PTE_WRITE : 0;
    mm.pt.entries[idx] = mkPte(pfn, PTE_PRESENT | PTE_ACCESSED | w);
  }
  mm.rss++;
  return VM_FAULT_OK;
}

/**
 * do_cow_fault (mm/memory.c): a write to a page of a private mapping of a regular file that maps
 * nothing yet. filemap_fault finds (or reads) the page-cache folio, a new anonymous folio gets its
 * copy (copy_user_highpage), and the PTE maps the copy writable and dirty; the page-cache folio
 * stays clean and unmapped. Charged: `filemapFaultNs` for the page-cache part (as a shared fault's:
 * its page_mkwrite and dirtying stand for the copy's anonymous rmap here), then the anonymous
 * folio's allocation, copy and LRU add. Read faults (do_read_fault, a read-only PTE to the
 * page-cache folio) and writes to such a PTE (wp_page_copy) are not modelled on private mappings.
 */
export function privateFileFault(t: SimThread, mm: Mm, vma: Vma, hva: number, write: boolean): number {
  const host = mm.host;
  const vpn = Math.floor(hva / PAGE_SIZE);
  const idx = mm.pt.walk(mm.pgd, vpn, 1, true);
  t.advance(4 * host.engine.profile.ptWalkLevelNs);
  if (!write || mm.pt.entries[idx] & PTE_PRESENT)
    throw new Error('privateFileFault: only a write to an unmapped page (do_cow_fault) is modelled');
  host.faultStats.file++;
  host.faultStats.cowFile++;
  const src = filemapFault(t, mm, vma, vma.file!, hva, vpn - vma.start / PAGE_SIZE);
  if (src < 0) return VM_FAULT_OOM;
  t.advance(t.jittered(host.engine.profile.filemapFaultNs));
  return mapNewAnonFolio(t, mm, vpn, newAnonFolio(t, mm, vma, hva, 0, true, src));
}
