/** Models mm/rmap.c: rmap_walk (rmapWalk) with page_vma_mapped_walk, for folios mapped once. */
import type { SimThread } from '../sim/thread.ts';
import type { Host } from './host.ts';
import type { Mm } from './mm.ts';
import { ptePfn, ptePresent } from './page-table.ts';

/** One mapping of a folio found by an rmap walk: where it is and which page-table entry maps it. */
export interface RmapHit {
  mm: Mm;
  /** Address of the folio's first page in this mapping. */
  addr: number;
  /** Index of the leaf entry in `mm.pt.entries`. */
  entryIdx: number;
  /** Bytes the entry maps (4 KiB, or 2 MiB for a PMD leaf). */
  size: number;
}

/**
 * rmap_walk (mm/rmap.c) for a folio: take the anon_vma (or i_mmap) rwsem for reading, find each
 * VMA mapping the folio and the entry that maps it there (page_vma_mapped_walk), fill `hit` and
 * call `visit` (rmap_one). Our folios have at most one mapping. Returns false if none was found.
 */
export function rmapWalk(
  t: SimThread,
  host: Host,
  head: number,
  hit: RmapHit,
  visit: (t: SimThread, hit: RmapHit) => void,
): boolean {
  const id = host.mem.mappingOf(head);
  if (id === 0) return false;
  const vma = host.mappingVma(id);
  if (vma === null) return false;
  vma.rmapLock.readLock(t);
  t.advance(host.engine.profile.rmapWalkNs);
  const addr = vma.start + host.mem.index[head] * 4096;
  const mm = vma.mm;
  const level = vma.folioPages === 512 ? 2 : 1;
  const idx = mm.pt.walk(mm.pgd, Math.floor(addr / 4096), level, false);
  let mapped = false;
  if (idx >= 0) {
    const e = mm.pt.entries[idx];
    if (ptePresent(e) && ptePfn(e) === head) {
      mapped = true;
      hit.mm = mm;
      hit.addr = addr;
      hit.entryIdx = idx;
      hit.size = level === 2 ? 2 * 1024 * 1024 : 4096;
      visit(t, hit);
    }
  }
  vma.rmapLock.readUnlock(t);
  return mapped;
}
