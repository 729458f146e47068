/**
 * Models mm/vmscan.c's shrink_folio_list for one regular-file folio (folio_referenced, the dirty
 * and writeback checks, try_to_unmap, __remove_mapping) with mm/filemap.c's
 * __filemap_remove_folio: a clean, unreferenced folio is dropped from the page cache and freed;
 * the next fault reads the page from disk. Whatever the page held that the disk does not is gone.
 */
import type { SimThread } from '../sim/thread.ts';
import type { Host } from './host.ts';
import { PG_DIRTY } from './page-flags.ts';
import { folioReferencedFile, tryToUnmapFile } from './rmap-file.ts';
import type { FileMapping } from './vma.ts';
import { lruDelFolio } from './zap.ts';

/** What reclaim did with a file folio. */
export type FileReclaimResult =
  /** No folio is cached at that offset. */
  | 'not-cached'
  /** Under writeback: kept (folio_test_writeback, no waiting from this context). */
  | 'writeback'
  /** Dirty once unmapped: kept for the flusher (only kswapd writes file folios from reclaim, and not here). */
  | 'dirty'
  /** Referenced by a PTE or a secondary MMU: activated, kept. */
  | 'referenced'
  /** Clean, unreferenced: unmapped, dropped from the page cache and freed. */
  | 'dropped';

/**
 * shrink_folio_list for the folio at `off` of `file`, in its order: keep it if under writeback or
 * referenced (folio_check_references: folio_referenced ages KVM's SPTEs through
 * clear_flush_young); otherwise try_to_unmap (the MMU notifiers make KVM zap its SPTEs; a dirty
 * PTE dirties the folio), keep it if dirty (deferred to writeback), else drop it
 * (__remove_mapping, filemap_remove_folio, free).
 */
export function shrinkFileFolio(t: SimThread, host: Host, file: FileMapping, off: number): FileReclaimResult {
  const pfn = file.pages[off];
  if (pfn < 0) return 'not-cached';
  if (file.writeback?.[off]) return 'writeback';
  const flags = host.mem.flags;
  if (folioReferencedFile(t, host, file, off, pfn) > 0) return 'referenced';
  tryToUnmapFile(t, host, file, off, pfn);
  if (flags[pfn] & PG_DIRTY) return 'dirty';
  file.pages[off] = -1;
  file.pagesDropped++;
  lruDelFolio(host, pfn);
  // mem_cgroup_uncharge_folios of a list of one.
  const memcgId = host.mem.memcgOf(pfn);
  const memcg = host.memcgs.byId(memcgId);
  if (memcg !== undefined) memcg.pages--;
  host.memcgCharge.unchargeBatch(t, memcgId, 1);
  host.mem.freeUnrefPage(t, pfn);
  return 'dropped';
}
