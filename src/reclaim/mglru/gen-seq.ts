/**
 * Models mm/vmscan.c's generation counters of the multi-gen LRU: folio_inc_gen,
 * try_to_inc_min_seq, inc_min_seq and inc_max_seq (the birth of a generation and the retirement of
 * the oldest).
 */
import { PG_WORKINGSET } from '../../host/page-flags.ts';
import type { SimThread } from '../../sim/thread.ts';
import {
  folioLruGen,
  folioLruRefs,
  LRU_REFS_FLAGS,
  LRU_REFS_WIDTH,
  lruTierFromRefs,
  withGen,
} from './gen-flags.ts';
import type { LruGen } from './lru-gen.ts';
import {
  jiffies,
  LRU_GEN_ANON,
  LRU_GEN_FILE,
  type Lruvec,
  lruGenFromSeq,
  MAX_LRU_BATCH,
  MAX_NR_GENS,
  MAX_NR_TIERS,
  MIN_NR_GENS,
} from './lruvec.ts';

/**
 * folio_inc_gen: a folio taken off the oldest generation's list moves to the next generation with
 * its refs cleared, unless folio_update_gen already promoted it (its flags name a younger
 * generation): then it stays there. Returns the generation whose list it belongs on.
 */
export function folioIncGen(lg: LruGen, l: Lruvec, pfn: number, type: number): number {
  const mem = lg.host.mem;
  const f = mem.flags[pfn];
  const old = lruGenFromSeq(l.minSeq[type]);
  const cur = folioLruGen(f);
  if (cur >= 0 && cur !== old) return cur;
  const next = lruGenFromSeq(l.minSeq[type] + 1);
  mem.flags[pfn] = withGen(f & ~LRU_REFS_FLAGS, next);
  const n = lg.folioPages(pfn);
  l.nrPages[old * 2 + type] -= n;
  l.nrPages[next * 2 + type] += n;
  return next;
}

/**
 * try_to_inc_min_seq: retire the oldest generations of `type` that are empty, keeping at least
 * MIN_NR_GENS. Returns whether min_seq moved.
 */
export function tryToIncMinSeq(l: Lruvec, type: number): boolean {
  let moved = false;
  while (l.minSeq[type] + MIN_NR_GENS <= l.maxSeq) {
    // Only an empty list retires: promoted folios still on it are sorted first.
    if (!l.folios[lruGenFromSeq(l.minSeq[type]) * 2 + type].empty) break;
    l.resetCtrlPos(type);
    l.minSeq[type]++;
    moved = true;
  }
  return moved;
}

/**
 * inc_max_seq (caller holds lru_lock): types with 4 generations first retire their oldest with
 * inc_min_seq; then the next generation is born. Returns false, with max_seq unchanged, when
 * inc_min_seq stopped after MAX_LRU_BATCH folios: the caller drops lru_lock, reschedules and
 * calls again (the kernel's `goto restart`).
 */
export function incMaxSeq(lg: LruGen, t: SimThread, l: Lruvec): boolean {
  for (const type of [LRU_GEN_ANON, LRU_GEN_FILE])
    if (l.nrGens(type) === MAX_NR_GENS && !incMinSeq(lg, t, l, type)) return false;
  l.timestamps[lruGenFromSeq(l.maxSeq + 1)] = jiffies(t.now);
  l.maxSeq++;
  lg.stats.agingPasses++;
  return true;
}

/**
 * inc_min_seq: move every folio still on the oldest generation's list to the tail of the list of
 * the generation folio_inc_gen gives it (the next one, or the younger one it was promoted to),
 * so the oldest can retire without cold/hot inversion. At most MAX_LRU_BATCH folios at a time:
 * returns false if the list is not empty yet, true once min_seq moved.
 */
export function incMinSeq(lg: LruGen, t: SimThread, l: Lruvec, type: number): boolean {
  const mem = lg.host.mem;
  const oldGen = lruGenFromSeq(l.minSeq[type]);
  const q = l.folios[oldGen * 2 + type];
  const p = lg.host.engine.profile;
  let remaining = MAX_LRU_BATCH;
  for (let pfn = q.popTail(); pfn >= 0; pfn = q.popTail()) {
    const f = mem.flags[pfn];
    // Counted as protected in its tier, unless it is a lazily promoted workingset folio.
    const refs = folioLruRefs(f);
    const ws = f & PG_WORKINGSET ? 1 : 0;
    if (refs + ws !== (1 << LRU_REFS_WIDTH) + 1)
      l.protected[type * MAX_NR_TIERS + lruTierFromRefs(refs, ws === 1)] += lg.folioPages(pfn);
    l.folios[folioIncGen(lg, l, pfn, type) * 2 + type].pushTail(pfn);
    lg.stats.protectedMoves++;
    t.advance(p.folioIncGenNs);
    if (--remaining === 0 && !q.empty) return false;
  }
  l.resetCtrlPos(type);
  l.minSeq[type]++;
  return true;
}
