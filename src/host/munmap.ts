/**
 * Models munmap's unmap_region (mm/mmap.c) with the mmu_gather of mm/mmu_gather.c, zap_huge_pmd
 * (mm/huge_memory.c), release_pages (mm/swap.c) and free_unref_page_list (mm/page_alloc.c), as in
 * 5.13 (6.8 for the huge leaves: release_pages's large-folio branch).
 */

import type { SimThread } from '../sim/thread.ts';
import { flushIpisNs } from '../sim/topology.ts';
import type { SpinLock } from '../sync/spinlock.ts';
import type { Host } from './host.ts';
import { UnchargeGather } from './memcg-charge.ts';
import type { Mm } from './mm.ts';
import { PG_HEAD, PG_HUGETLB, PG_LRU } from './page-flags.ts';
import { HPAGE_PMD_ORDER, PAGE_SIZE, PMD_SIZE, ptePfn } from './page-table.ts';
import { lruDelFolio, zapFilePte, zapPte } from './zap.ts';

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
 * unmap_region (mm/mmap.c) of anonymous memory (a private file mapping's copies included), or of a
 * shared mapping of a regular file (its folios stay in the page cache: `zapFilePte`, nothing freed): zap_pte_range clears each PTE and
 * gathers the pages in the mmu_gather, zap_huge_pmd clears a THP's PMD leaf and gathers the folio as one entry
 * (tlb_remove_page_size); when the gather is full (MMU_GATHER_MAX_PAGES entries) and at the end,
 * tlb_flush_mmu flushes the TLBs (flush_tlb_mm_range: IPIs to `cpusOfMm`, the other CPUs running
 * the mm, and a wait for them) and frees the pages (`releasePages`). Runs with mmap_lock held for
 * read (after the downgrade), yielding between pages. Page tables are kept (free_pgtables is not
 * modelled), nor are MMU notifiers called (none is registered on a plain process).
 * Charged: a 4-level walk per page (as madvise), a 3-level one per PMD leaf (as the huge fault),
 * the flush's `tlbFlush*` terms (those of kvm_flush_remote_tlbs: the model has no host figure of its
 * own); the IPI handlers' time on the receiving CPUs is not charged (a few per 10 000 pages). Not
 * modelled for a PMD leaf: the PTE table __do_huge_pmd_anonymous_page deposited, which zap_huge_pmd
 * withdraws and pte_free's (the fault does not allocate it either: one order-0 page each way, two
 * `pageAllocNs` or about 0.1 % of clearing the 2 MiB). hugetlb and PUD leaves are not unmapped here.
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
  const vma = mm.findVma(start);
  // A private file mapping's PTEs map only anonymous copies (privateFileFault).
  const anon = vma === null || vma.file === null || vma.kind === 'file-private';
  if (vma?.file?.shmem) throw new Error('unmapRegion: shmem mappings are not modelled');
  for (let va = start; va < end; ) {
    if (t.mustSync()) yield;
    const idx = mm.pt.walk(mm.pgd, Math.floor(va / PAGE_SIZE), 1, false);
    let pfn: number;
    if (idx >= 0 && mm.pt.hitLevel === 2) {
      pfn = zapHugePmd(t, mm, idx, va, end, zapped);
      va += PMD_SIZE;
    } else {
      if (idx >= 0 && mm.pt.hitLevel !== 1) throw new Error('unmapRegion: PUD leaves are not modelled');
      t.advance(p.ptWalkLevelNs * 4);
      pfn = idx < 0 ? -1 : anon ? zapPte(mm, idx, zapped) : zapFilePte(mm, idx);
      va += PAGE_SIZE;
    }
    if (pfn < 0) continue;
    gather.push(pfn);
    if (gather.length === MMU_GATHER_MAX_PAGES)
      freed += yield* tlbFlushMmu(t, host, gather, cpusOfMm, stats, anon);
  }
  if (gather.length > 0) freed += yield* tlbFlushMmu(t, host, gather, cpusOfMm, stats, anon);
  return freed;
}

/**
 * zap_pmd_range meeting a THP's PMD leaf at `idx`: zap_huge_pmd clears it (3 levels walked, as the
 * huge fault) and hands the folio to the gather; the range must cover the leaf whole (a partial one
 * is split first, __split_huge_pmd, which the model does not do).
 */
function zapHugePmd(
  t: SimThread,
  mm: Mm,
  idx: number,
  va: number,
  end: number,
  out: { pages: number },
): number {
  if (va % PMD_SIZE !== 0 || va + PMD_SIZE > end)
    throw new Error('unmapRegion: splitting a PMD leaf (__split_huge_pmd) is not modelled');
  if (mm.host.mem.flags[ptePfn(mm.pt.entries[idx])] & PG_HUGETLB)
    throw new Error('unmapRegion: hugetlb leaves are not modelled');
  t.advance(mm.host.engine.profile.ptWalkLevelNs * 3);
  return zapPte(mm, idx, out);
}

/**
 * tlb_flush_mmu: flush the TLBs, then free the gathered pages (`free`; a file's folios keep the page
 * cache's reference, and the put frees nothing). Returns the pages freed.
 */
function* tlbFlushMmu(
  t: SimThread,
  host: Host,
  gather: number[],
  cpusOfMm: () => number[],
  stats: TlbFlushStats,
  free: boolean,
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
  const n = free ? gather.length : 0;
  if (free) yield* releasePages(t, host, gather);
  gather.length = 0;
  return n;
}

/**
 * release_pages then free_unref_page_list (mm/swap.c, mm/page_alloc.c): each folio comes off the LRU
 * under its lruvec's lock (relocked when the lruvec changes, dropped every SWAP_CLUSTER_MAX folios),
 * then goes to the CPU's free list (`PhysMem.freeUnrefPage`). Under lru_lock each folio is charged
 * `lruMoveFolioNs`: the model has no term for taking a folio off the LRU and charges what putting
 * one on costs. A THP takes its own lruvec lock and is freed at once, as 6.x's release_pages does
 * (__folio_put_large).
 */
export function* releasePages(t: SimThread, host: Host, pfns: number[]): Generator<void, void, void> {
  const mem = host.mem;
  const p = host.engine.profile;
  let lock: SpinLock | null = null;
  let held = 0;
  const small: number[] = [];
  const unlock = () => {
    t.advance(p.lruMoveFolioNs * held);
    lock?.unlock(t);
    lock = null;
    held = 0;
  };
  for (const pfn of pfns) {
    if (lock === null && t.mustSync()) yield;
    if (mem.flags[pfn] & PG_HEAD) {
      // A THP (6.x's large-folio branch): drop the batch's lruvec lock; __folio_put_large's
      // __page_cache_release takes the folio's own lruvec lock to take it off the LRU, then the
      // whole order is freed at once (the memcg uncharge was zapPte's).
      if (lock !== null) unlock();
      if (t.mustSync()) yield;
      if (mem.flags[pfn] & PG_LRU) {
        const l = host.lru.lruLock(mem.memcgOf(pfn), mem.pfnToNid(pfn));
        l.lock(t);
        t.advance(p.lruMoveFolioNs);
        lruDelFolio(host, pfn);
        l.unlock(t);
      } else lruDelFolio(host, pfn);
      host.memcgCharge.unchargeBatch(t, mem.memcgOf(pfn), 1 << HPAGE_PMD_ORDER);
      mem.freeUnrefPage(t, pfn, HPAGE_PMD_ORDER);
      continue;
    }
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
    small.push(pfn);
    if (held === SWAP_CLUSTER_MAX) unlock();
  }
  if (lock !== null) unlock();
  // mem_cgroup_uncharge_folios of each folio batch, then free_unref_folios.
  const ug = new UnchargeGather(host.memcgCharge, host.lru.batchSize);
  for (const pfn of small) {
    if (t.mustSync()) yield;
    ug.add(t, mem.memcgOf(pfn), 1);
    mem.freeUnrefPage(t, pfn);
  }
  ug.flush(t);
}
