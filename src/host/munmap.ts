/**
 * Models munmap's unmap_region (mm/mmap.c) with the mmu_gather of mm/mmu_gather.c, release_pages
 * (mm/swap.c) and free_unref_page_list (mm/page_alloc.c), as in 5.13.
 */

import type { SimThread } from '../sim/thread.ts';
import { flushIpisNs } from '../sim/topology.ts';
import type { SpinLock } from '../sync/spinlock.ts';
import type { Host } from './host.ts';
import type { Mm } from './mm.ts';
import { PG_LRU } from './page-flags.ts';
import { lruDelFolio, zapPte } from './zap.ts';

/** Pages one mmu_gather batch page holds: MAX_GATHER_BATCH = (PAGE_SIZE - 16) / sizeof(void *). */
export const MAX_GATHER_BATCH = 510;
/** Batch pages an mmu_gather may chain: MAX_GATHER_BATCH_COUNT = 10000 / MAX_GATHER_BATCH. */
export const MAX_GATHER_BATCH_COUNT = 19;
/** Pages of the gather's embedded first batch (MMU_GATHER_BUNDLE). */
export const MMU_GATHER_BUNDLE = 8;
/** Pages an mmu_gather collects before zap_pte_range must flush and free them (force_flush). */
export const MMU_GATHER_MAX_PAGES = MMU_GATHER_BUNDLE + MAX_GATHER_BATCH * MAX_GATHER_BATCH_COUNT;
/** release_pages drops the lruvec lock every SWAP_CLUSTER_MAX folios. */
export const SWAP_CLUSTER_MAX = 32;

/** What munmap's TLB flushes did. */
export interface TlbFlushStats {
  flushes: number;
  ipis: number;
}

/**
 * unmap_region (mm/mmap.c) of 4 KiB anonymous memory: zap_pte_range clears each PTE and gathers
 * the pages in the mmu_gather; when the gather is full (MMU_GATHER_MAX_PAGES) and at the end,
 * tlb_flush_mmu flushes the TLBs (flush_tlb_mm_range: IPIs to `cpusOfMm`, the other CPUs running
 * the mm, and a wait for them) and frees the pages (`releasePages`). Runs with mmap_lock held for
 * read (after the downgrade), yielding between pages. Page tables are kept (free_pgtables is not
 * modelled), nor are MMU notifiers called (none is registered on a plain process).
 * Charged: a 4-level walk per page (as madvise), the flush's `tlbFlush*` terms (those of
 * kvm_flush_remote_tlbs: the model has no host figure of its own); the IPI handlers' time on the
 * receiving CPUs is not charged (a few per 10 000 pages).
 */
export function* unmapRegion(
  t: SimThread,
  mm: Mm,
  start: number,
  end: number,
  cpusOfMm: () => number[],
  stats: TlbFlushStats,
): Generator<void, number, void> {
  const host = mm.host;
  const p = host.engine.profile;
  const gather: number[] = [];
  const zapped = { pages: 0 };
  let freed = 0;
  for (let va = start; va < end; va += 4096) {
    if (t.mustSync()) yield;
    const idx = mm.pt.walk(mm.pgd, Math.floor(va / 4096), 1, false);
    t.advance(p.ptWalkLevelNs * 4);
    const pfn = idx < 0 ? -1 : zapPte(mm, idx, zapped);
    if (pfn < 0) continue;
    if (zapped.pages !== 1) throw new Error('unmapRegion: huge leaves are not modelled');
    gather.push(pfn);
    if (gather.length === MMU_GATHER_MAX_PAGES) freed += yield* tlbFlushMmu(t, host, gather, cpusOfMm, stats);
  }
  if (gather.length > 0) freed += yield* tlbFlushMmu(t, host, gather, cpusOfMm, stats);
  return freed;
}

/** tlb_flush_mmu: flush the TLBs, then free the gathered pages. */
function* tlbFlushMmu(
  t: SimThread,
  host: Host,
  gather: number[],
  cpusOfMm: () => number[],
  stats: TlbFlushStats,
): Generator<void, number, void> {
  if (t.mustSync()) yield;
  const p = host.engine.profile;
  const topo = host.engine.topology;
  let ipis = 0;
  let remote = 0;
  for (const cpu of cpusOfMm()) {
    if (cpu === t.cpu || cpu < 0) continue;
    ipis++;
    if (topo.nodeOf(cpu) !== topo.nodeOf(t.cpu)) remote++;
  }
  stats.flushes++;
  stats.ipis += ipis;
  if (ipis > 0) t.advance(flushIpisNs(p, ipis, remote));
  const n = gather.length;
  yield* releasePages(t, host, gather);
  gather.length = 0;
  return n;
}

/**
 * release_pages then free_unref_page_list (mm/swap.c, mm/page_alloc.c): each folio comes off the LRU
 * under its lruvec's lock (relocked when the lruvec changes, dropped every SWAP_CLUSTER_MAX folios),
 * then goes to the CPU's free list (`PhysMem.freeUnrefPage`). Under lru_lock each folio is charged
 * `lruMoveFolioNs`: the model has no term for taking a folio off the LRU and charges what putting
 * one on costs.
 */
export function* releasePages(t: SimThread, host: Host, pfns: number[]): Generator<void, void, void> {
  const mem = host.mem;
  const p = host.engine.profile;
  let lock: SpinLock | null = null;
  let held = 0;
  const unlock = () => {
    t.advance(p.lruMoveFolioNs * held);
    lock?.unlock(t);
    lock = null;
    held = 0;
  };
  for (const pfn of pfns) {
    if (lock === null && t.mustSync()) yield;
    if (mem.flags[pfn] & PG_LRU) {
      const l = host.lru.lruLock(mem.memcgOf(pfn), mem.pfnToNid(pfn));
      if (l !== lock) {
        if (lock !== null) unlock();
        l.lock(t);
        lock = l;
      }
      held++;
    }
    lruDelFolio(host, pfn);
    if (held === SWAP_CLUSTER_MAX) unlock();
  }
  if (lock !== null) unlock();
  for (const pfn of pfns) {
    if (t.mustSync()) yield;
    mem.freeUnrefPage(t, pfn);
  }
}
