/** Models the per-entry part of zap_pte_range (mm/memory.c) shared by madvise and munmap. */
import { folioMarkAccessed } from './folio-mark-accessed.ts';
import type { Host } from './host.ts';
import type { Mm } from './mm.ts';
import { PG_LRU } from './page-flags.ts';
import { PTE_ACCESSED, PTE_DIRTY, PTE_PSE, ptePfn, ptePresent } from './page-table.ts';
import { folioMarkDirty } from './page-writeback.ts';

/**
 * zap_pte_range (mm/memory.c) for one entry: clears a present PTE or PMD leaf at `idx` and drops the
 * mm's rss and the memcg charge of the folio it mapped. Returns the folio's first pfn and its page
 * count (`out`), or -1 when nothing (or the shared zero page) was mapped. The caller frees the folio.
 */
export function zapPte(mm: Mm, idx: number, out: { pages: number }): number {
  const e = mm.pt.entries[idx];
  if (!ptePresent(e)) return -1;
  mm.pt.entries[idx] = 0;
  const pfn = ptePfn(e);
  const mem = mm.host.mem;
  if (pfn === mem.zeroPfn) return -1;
  const n = e & PTE_PSE ? 512 : 1;
  const memcg = mm.host.memcgs.byId(mem.memcgOf(pfn));
  if (memcg !== undefined) memcg.pages -= n;
  mm.rss -= n;
  out.pages = n;
  return pfn;
}

/**
 * Takes a folio being freed off the LRU (lruvec_del_folio; the caller holds the lruvec's lock if it
 * is on it). A folio still in a CPU's LRU-add batch is dropped from the batch (see `forget`).
 * Returns whether it was on the LRU.
 */
export function lruDelFolio(host: Host, pfn: number): boolean {
  const mem = host.mem;
  if (!(mem.flags[pfn] & PG_LRU)) {
    host.lru.forget(pfn);
    return false;
  }
  host.lru.onLru--;
  host.lruGen?.delFolio(pfn);
  mem.flags[pfn] &= ~PG_LRU;
  return true;
}

/**
 * zap_pte_range for a PTE of a shared file mapping: clears it, moves its dirty bit to the folio
 * (set_page_dirty) and, for a young one, marks the folio accessed (mark_page_accessed). The folio
 * stays in the page cache: page_remove_rmap, and the gather's put drops only the mapping's
 * reference. Returns the pfn, or -1 when nothing was mapped.
 */
export function zapFilePte(mm: Mm, idx: number): number {
  const e = mm.pt.entries[idx];
  if (!ptePresent(e)) return -1;
  mm.pt.entries[idx] = 0;
  const pfn = ptePfn(e);
  if (e & PTE_DIRTY) folioMarkDirty(mm.host, pfn);
  if (e & PTE_ACCESSED) folioMarkAccessed(mm.host, pfn);
  mm.rss--;
  return pfn;
}
