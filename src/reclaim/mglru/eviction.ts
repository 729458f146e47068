/**
 * Models mm/vmscan.c, MGLRU eviction: evict_folios (evictFolios) with scan_folios, sort_folio,
 * isolate_folio, get_tier_idx, and shrink_folio_list's try_to_unmap_one (mm/rmap.c) and pageout.
 */
import { UnchargeGather } from '../../host/memcg-charge.ts';
import { PG_ACTIVE, PG_HEAD, PG_IDLE, PG_LRU, PG_WORKINGSET, PG_YOUNG } from '../../host/page-flags.ts';
import { mkSwapPte, PTE_DIRTY, ptePresent } from '../../host/page-table.ts';
import { type RmapHit, rmapWalk } from '../../host/rmap.ts';
import type { Vma } from '../../host/vma.ts';
import { FILE_SHADOW, shmemSwapEntry } from '../../host/vma.ts';
import { CAT } from '../../sim/accounting.ts';
import type { SimThread } from '../../sim/thread.ts';
import { folioLruGen, folioLruRefs, lruTierFromRefs, withGen } from './gen-flags.ts';
import { folioIncGen, tryToIncMinSeq } from './gen-seq.ts';
import { folioReferencedOne } from './look-around.ts';
import type { LruGen } from './lru-gen.ts';
import {
  LRU_GEN_ANON,
  LRU_GEN_FILE,
  type Lruvec,
  lruGenFromSeq,
  MAX_LRU_BATCH,
  MAX_NR_TIERS,
  MIN_LRU_BATCH,
  MIN_NR_GENS,
} from './lruvec.ts';

type Gen<R> = Generator<void, R, void>;

/** What one evict_folios call did. */
export interface EvictResult {
  scanned: number;
  reclaimed: number;
}

/**
 * evict_folios (mm/vmscan.c): under lru_lock take folios from the tail of the oldest generation
 * (scan_folios with sort_folio and isolate_folio: at most min(nr_to_scan, MAX_LRU_BATCH) folios,
 * sorted ones included, and no more than MIN_LRU_BATCH isolated), advance min_seq over empty
 * generations, then shrink_folio_list without the lock: a folio referenced since (rmap walk with
 * ptep_clear_young_notify, which asks KVM, or PG_young from page_idle) goes back; the others are
 * unmapped (an MMU-notifier invalidation zaps KVM's SPTEs), written to swap and freed.
 */
export function* evictFolios(
  t: SimThread,
  lg: LruGen,
  l: Lruvec,
  swappiness: number,
  nrToScan: number,
): Gen<EvictResult> {
  const prevCtx = t.enter(CAT.mglruEviction);
  const host = lg.host;
  const mem = host.mem;
  const stats = lg.evictionStats;
  const tr = host.engine.trace;
  if (tr !== null)
    tr.emit(t, 'evict_folios_begin', { memcg: l.memcg.path, nid: l.nid, swappiness, nrToScan });
  // get_type_to_scan: swappiness <= 1 scans file, >= 200 anon; the model's folios are anon.
  const type = swappiness <= 1 ? LRU_GEN_FILE : LRU_GEN_ANON;
  const lock = lg.lruLock(l);
  const isolated: number[] = [];
  let scanned = 0;
  lock.lock(t);
  if (l.nrGens(type) > MIN_NR_GENS) {
    const oldest = lruGenFromSeq(l.minSeq[type]);
    const q = l.folios[oldest * 2 + type];
    const budget = Math.min(nrToScan, MAX_LRU_BATCH);
    const tierIdx = getTierIdx(l, type);
    for (let pfn = q.popTail(); pfn >= 0; pfn = q.popTail()) {
      const f = mem.flags[pfn];
      scanned++;
      t.advance(host.engine.profile.folioIncGenNs);
      const gen = folioLruGen(f);
      const tier = lruTierFromRefs(folioLruRefs(f), (f & PG_WORKINGSET) !== 0);
      if (gen !== oldest) {
        // sort_folio: a folio promoted since it was queued goes to the head of its new generation.
        l.folios[gen * 2 + type].pushHead(pfn);
      } else if (tier > tierIdx || f & PG_HEAD) {
        // Referenced folios (tier above 0) and large folios move on to the next generation.
        l.folios[folioIncGen(lg, l, pfn, type) * 2 + type].pushHead(pfn);
        if (tier > tierIdx) l.protected[type * MAX_NR_TIERS + tier] += lg.folioPages(pfn);
      } else {
        // isolate_folio: off the LRU and out of the generation counts.
        mem.flags[pfn] = withGen(f & ~PG_LRU, -1);
        l.nrPages[oldest * 2 + type] -= lg.folioPages(pfn);
        host.lru.onLru--;
        isolated.push(pfn);
      }
      if (scanned >= budget || isolated.length >= MIN_LRU_BATCH) break;
    }
  }
  // try_to_inc_min_seq over every evictable type.
  for (const ty of swappiness === 0
    ? [LRU_GEN_FILE]
    : swappiness > 200
      ? [LRU_GEN_ANON]
      : [LRU_GEN_ANON, LRU_GEN_FILE])
    tryToIncMinSeq(l, ty);
  lock.unlock(t);
  stats.scanned += scanned;
  stats.isolated += isolated.length;

  let reclaimed = 0;
  // shrink_folio_list's free_folios batch: uncharged per batch, then freed.
  const ug = new UnchargeGather(host.memcgCharge, host.lru.batchSize);
  for (const pfn of isolated) {
    if (t.mustSync()) yield;
    if (folioReferenced(t, lg, l, pfn)) {
      stats.referenced++;
      // folio_check_references with MGLRU: activate on a second sighting, else keep; either way
      // it must not land in min_seq again, so it goes back as active.
      mem.flags[pfn] |= PG_ACTIVE;
      putback(t, lg, pfn);
      continue;
    }
    const f = mem.flags[pfn];
    const tier = lruTierFromRefs(folioLruRefs(f), (f & PG_WORKINGSET) !== 0);
    if (tryToUnmapAndSwapOut(t, lg, l, type, pfn, ug)) {
      l.evicted[type * MAX_NR_TIERS + tier]++;
      reclaimed++;
      stats.reclaimed++;
    } else {
      stats.kept++;
      putback(t, lg, pfn);
    }
  }
  ug.flush(t);
  if (tr !== null) tr.emit(t, 'evict_folios_end', { memcg: l.memcg.path, nid: l.nid, scanned, reclaimed });
  t.leave(prevCtx);
  return { scanned, reclaimed };
}

/** A PID-controller reading (struct ctrl_pos). */
interface CtrlPos {
  refaulted: number;
  total: number;
  gain: number;
}

function readCtrlPos(l: Lruvec, type: number, tier: number, gain: number): CtrlPos {
  const i = type * MAX_NR_TIERS + tier;
  return {
    refaulted: l.avgRefaulted[i] + l.refaulted[i],
    total: l.avgTotal[i] + l.protected[i] + l.evicted[i],
    gain,
  };
}

/** positive_ctrl_err: pv's refault rate is no worse than sp's (or too little data to tell). */
function positiveCtrlErr(sp: CtrlPos, pv: CtrlPos): boolean {
  return (
    pv.refaulted < MIN_LRU_BATCH ||
    pv.refaulted * (sp.total + MIN_LRU_BATCH) * sp.gain <= (sp.refaulted + 1) * pv.total * pv.gain
  );
}

/**
 * get_tier_idx: the highest tier whose refault rate is no worse than tier 0's; folios above it are
 * protected. With no refaults yet every tier is evictable.
 */
function getTierIdx(l: Lruvec, type: number): number {
  const sp = readCtrlPos(l, type, 0, 2);
  let tier = 1;
  for (; tier < MAX_NR_TIERS; tier++) if (!positiveCtrlErr(sp, readCtrlPos(l, type, tier, 3))) break;
  return tier - 1;
}

/** move_folios_to_lru: back on the LRU (lru_gen_add_folio). */
function putback(t: SimThread, lg: LruGen, pfn: number): void {
  lg.host.mem.flags[pfn] |= PG_LRU;
  lg.host.lru.onLru++;
  lg.addFolio(t, pfn);
}

/**
 * folio_referenced for an isolated folio: an rmap walk with folio_referenced_one (look-around,
 * which asks the secondary MMUs on 6.12+), plus PG_young left by page_idle. A reference clears
 * PG_idle.
 */
function folioReferenced(t: SimThread, lg: LruGen, l: Lruvec, pfn: number): boolean {
  const host = lg.host;
  const mem = host.mem;
  let young = false;
  rmapWalk(t, host, pfn, lg.hit, (tt: SimThread, hit: RmapHit) => {
    if (folioReferencedOne(tt, lg, l, hit)) young = true;
  });
  if (mem.flags[pfn] & PG_YOUNG) {
    mem.flags[pfn] &= ~PG_YOUNG;
    young = true;
  }
  if (young) mem.flags[pfn] &= ~PG_IDLE;
  return young;
}

/**
 * try_to_unmap + pageout: unmap the folio (an MMU-notifier invalidation around each PTE change, so
 * KVM zaps the SPTE), leave a shadow entry and free the frame. An anonymous folio is written to a
 * swap slot and its PTE becomes the swap entry; a shmem folio is written to a slot too, unmapped
 * from every mapper, and its page-cache slot holds the swap entry (shmem_writeout); a clean
 * regular-file folio is just dropped from the page cache (a dirty one would need writeback, which
 * is not modelled: it stays).
 */
function tryToUnmapAndSwapOut(
  t: SimThread,
  lg: LruGen,
  l: Lruvec,
  type: number,
  pfn: number,
  ug: UnchargeGather,
): boolean {
  const host = lg.host;
  const mem = host.mem;
  if (mem.flags[pfn] & PG_HEAD) return false;
  // __remove_mapping's folio_ref_freeze fails while anyone else (GUP, KVM's fault) holds a reference.
  if (mem.refs.count[pfn] !== 1) return false;
  const vma = host.mappingVma(mem.mappingOf(pfn));
  if (vma === null) return false;
  const file = vma.file;
  const off = mem.index[pfn];
  const f = mem.flags[pfn];
  const refs = Math.max(folioLruRefs(f) - 1, 0);
  const ws = (f & PG_WORKINGSET) !== 0;
  // lru_gen_eviction: the shadow's token is (min_seq << LRU_REFS_WIDTH) | max(refs - 1, 0).
  const seq = l.minSeq[type];
  if (file !== null && file.shadow !== null) {
    if (file.mappers.some((m) => pteDirty(m, off))) return false;
    for (const m of file.mappers) unmapOne(t, m, off, 0);
    file.pages[off] = FILE_SHADOW;
    file.shadow.store(off, mem.memcgOf(pfn), mem.pfnToNid(pfn), seq, refs, ws);
  } else {
    const swap = host.swap;
    if (swap === null) return false;
    const slot = swap.allocSlot();
    if (slot < 0) return false;
    if (file === null) unmapOne(t, vma, off, mkSwapPte(slot));
    else {
      for (const m of file.mappers) unmapOne(t, m, off, 0);
      file.pages[off] = shmemSwapEntry(slot);
    }
    swap.data[slot] = mem.data[pfn];
    swap.shadow.store(slot, mem.memcgOf(pfn), mem.pfnToNid(pfn), seq, refs, ws);
    swap.swapOuts++;
    const p = host.engine.profile;
    swap.io(t, t.jittered(p.swapOutNs), p.swapPageTransferNs);
    const tr = host.engine.trace;
    if (tr !== null) tr.emit(t, 'swap_out', { pfn, slot });
  }
  const memcgId = mem.memcgOf(pfn);
  const memcg = host.memcgs.byId(memcgId);
  if (memcg !== undefined) memcg.pages--;
  ug.add(t, memcgId, 1);
  mem.freePages(pfn, 0);
  return true;
}

/** Whether `vma`'s PTE for page `off` is dirty (try_to_unmap_one would mark the folio dirty). */
function pteDirty(vma: Vma, off: number): boolean {
  const mm = vma.mm;
  const idx = mm.pt.walk(mm.pgd, Math.floor(vma.start / 4096) + off, 1, false);
  const e = idx >= 0 ? mm.pt.entries[idx] : 0;
  return ptePresent(e) && (e & PTE_DIRTY) !== 0;
}

/** try_to_unmap_one: replace `vma`'s PTE for page `off` by `newPte`, inside an invalidation. */
function unmapOne(t: SimThread, vma: Vma, off: number, newPte: number): void {
  const mm = vma.mm;
  const host = mm.host;
  const addr = vma.start + off * 4096;
  const range = { mm, start: addr, end: addr + 4096, event: 'unmap' as const, blockable: true };
  host.mmuNotifier.invalidateRangeStart(t, range);
  const idx = mm.pt.walk(mm.pgd, Math.floor(addr / 4096), 1, false);
  t.advance(host.engine.profile.unmapNs);
  if (idx >= 0) {
    if (ptePresent(mm.pt.entries[idx])) mm.rss--;
    mm.pt.entries[idx] = newPte;
  }
  host.mmuNotifier.invalidateRangeEnd(t, range);
}
