/**
 * Models mm/page-writeback.c for a regular file: folio_mark_dirty (filemap_dirty_folio),
 * folio_clear_dirty_for_io, __folio_start_writeback, __folio_end_writeback, and
 * write_cache_pages (writeback_iter with a writepage that submits one folio) as the flusher runs
 * it (wb_workfn → wb_do_writeback → do_writepages). The page cache's dirty and writeback tags are
 * not modelled: the walk finds every PG_dirty folio of the file.
 */
import type { SimThread, ThreadBody } from '../sim/thread.ts';
import type { Host } from './host.ts';
import { PG_DIRTY } from './page-flags.ts';
import { folioMkclean } from './rmap-file.ts';
import type { FileMapping } from './vma.ts';

/** folio_mark_dirty for a page-cache folio (filemap_dirty_folio). Returns whether it was clean. */
export function folioMarkDirty(host: Host, pfn: number): boolean {
  const flags = host.mem.flags;
  if (flags[pfn] & PG_DIRTY) return false;
  flags[pfn] |= PG_DIRTY;
  return true;
}

/** folio_test_clear_dirty. */
export function folioTestClearDirty(host: Host, pfn: number): boolean {
  const flags = host.mem.flags;
  if (!(flags[pfn] & PG_DIRTY)) return false;
  flags[pfn] &= ~PG_DIRTY;
  return true;
}

/**
 * folio_clear_dirty_for_io (the folio is locked; the mapping can write back): folio_mkclean
 * write-protects and cleans every PTE, after the MMU notifiers told secondary MMUs to drop theirs;
 * if a PTE was cleaned the folio is dirtied again (folio_mark_dirty: the "master dirty bit" as
 * the serialization point); then folio_test_clear_dirty decides whether to write. Returns it.
 */
export function folioClearDirtyForIo(
  t: SimThread,
  host: Host,
  file: FileMapping,
  off: number,
  pfn: number,
): boolean {
  if (folioMkclean(t, host, file, off, pfn) > 0) folioMarkDirty(host, pfn);
  return folioTestClearDirty(host, pfn);
}

/** What the flusher reports as it goes (for oracles and counters). */
export interface WritebackHooks {
  /** After folio_clear_dirty_for_io said the folio at `off` must be written, before the I/O. */
  onCleaned?(off: number): void;
  /** After the I/O of the folio at `off` completed (folio_end_writeback). */
  onWritten?(off: number): void;
}

/**
 * One write_cache_pages pass over `file` (WB_SYNC_NONE, or WB_SYNC_ALL when `sync`): for each
 * dirty folio, lock it, skip it if under writeback (WB_SYNC_NONE) or wait for that writeback
 * (WB_SYNC_ALL: the earlier I/O finished in an earlier step here), folio_clear_dirty_for_io, then
 * the filesystem's writepage: __folio_start_writeback, submit the bio, unlock. The thread yields
 * while the I/O is in flight (others run, the guest may write the page again); the disk then holds
 * the page's contents as the device read them at completion, and __folio_end_writeback clears
 * PG_writeback. Returns after the pass.
 */
export function* writeCachePages(
  t: SimThread,
  host: Host,
  file: FileMapping,
  sync: boolean,
  hooks: WritebackHooks = {},
): ThreadBody {
  const disk = file.disk;
  const writeback = file.writeback;
  if (disk === null || writeback === null) return;
  const mem = host.mem;
  const p = host.engine.profile;
  for (let off = 0; off < file.pages.length; off++) {
    const pfn = file.pages[off];
    if (pfn < 0 || !(mem.flags[pfn] & PG_DIRTY)) continue;
    if (writeback[off] && !sync) continue;
    if (!folioClearDirtyForIo(t, host, file, off, pfn)) continue;
    writeback[off] = 1;
    hooks.onCleaned?.(off);
    yield;
    // The bio completes: the device has read the page; folio_end_writeback.
    t.advance(t.jittered(p.fileReadNs));
    disk[off] = mem.data[pfn];
    writeback[off] = 0;
    file.pagesWritten++;
    hooks.onWritten?.(off);
    yield;
  }
}
