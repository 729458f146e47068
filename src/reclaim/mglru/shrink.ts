/**
 * Models mm/vmscan.c, MGLRU reclaim: try_to_free_mem_cgroup_pages and shrink_node down to
 * should_run_aging, get_nr_to_scan and try_to_shrink_lruvec.
 */
import type { Memcg } from '../../host/memcg.ts';
import type { SimThread } from '../../sim/thread.ts';
import { tryToIncMaxSeq } from './aging.ts';
import { evictFolios } from './eviction.ts';
import type { LruGen } from './lru-gen.ts';
import { LRU_GEN_ANON, LRU_GEN_FILE, type Lruvec, MIN_NR_GENS } from './lruvec.ts';

type Gen<R> = Generator<void, R, void>;

/** DEF_PRIORITY: reclaim scans total >> priority pages per round. */
export const DEF_PRIORITY = 12;
/** SWAP_CLUSTER_MAX: the smallest reclaim target. */
export const SWAP_CLUSTER_MAX = 32;

/** for_each_evictable_type: file only at swappiness 0, anon only at 201 ("max"), else both. */
function evictableTypes(swappiness: number): number[] {
  if (swappiness === 0) return [LRU_GEN_FILE];
  if (swappiness > 200) return [LRU_GEN_ANON];
  return [LRU_GEN_ANON, LRU_GEN_FILE];
}

/** evictable_min_seq: the oldest min_seq among the types this swappiness evicts. */
export function evictableMinSeq(l: Lruvec, swappiness: number): number {
  return Math.min(...evictableTypes(swappiness).map((t) => l.minSeq[t]));
}

/**
 * should_run_aging: mandatory (nothing to scan) with only two generations left; suggested with
 * three. `nr` counts the evictable pages.
 */
export function shouldRunAging(l: Lruvec, swappiness: number): { success: boolean; nr: number } {
  const types = evictableTypes(swappiness);
  const ems = evictableMinSeq(l, swappiness);
  if (ems + MIN_NR_GENS > l.maxSeq) return { success: true, nr: 0 };
  let nr = 0;
  for (const type of types) for (let seq = l.minSeq[type]; seq <= l.maxSeq; seq++) nr += l.pagesIn(seq, type);
  return { success: ems + MIN_NR_GENS === l.maxSeq, nr };
}

/** get_nr_to_scan: no aging at the default priority; otherwise age when running low on generations. */
function* getNrToScan(
  t: SimThread,
  lg: LruGen,
  l: Lruvec,
  priority: number,
  swappiness: number,
): Gen<number> {
  const { success, nr } = shouldRunAging(l, swappiness);
  if (!success || priority === DEF_PRIORITY) return Math.floor(nr / 2 ** priority);
  return (yield* tryToIncMaxSeq(t, lg, l, l.maxSeq, swappiness, false)) ? -1 : 0;
}

/** try_to_shrink_lruvec: evict until the round's share is scanned or nothing is left. */
function* tryToShrinkLruvec(
  t: SimThread,
  lg: LruGen,
  l: Lruvec,
  priority: number,
  swappiness: number,
): Gen<number> {
  let scanned = 0;
  let reclaimed = 0;
  for (;;) {
    const nr = yield* getNrToScan(t, lg, l, priority, swappiness);
    if (nr <= 0) break;
    const r = yield* evictFolios(t, lg, l, swappiness, nr);
    reclaimed += r.reclaimed;
    if (r.scanned === 0) break;
    scanned += r.scanned;
    if (scanned >= nr) break;
  }
  return reclaimed;
}

/**
 * try_to_free_mem_cgroup_pages → do_try_to_free_pages → lru_gen_shrink_lruvec: rounds from
 * DEF_PRIORITY down to 0 over the lruvecs of the memcg and its descendants until max(nrPages, SWAP_CLUSTER_MAX) pages are
 * reclaimed. `swappiness` null means the memcg's (get_swappiness). Returns the pages reclaimed.
 */
export function* tryToFreeMemCgroupPages(
  t: SimThread,
  lg: LruGen,
  memcg: Memcg,
  nrPages: number,
  swappiness: number | null,
): Gen<number> {
  const target = Math.max(nrPages, SWAP_CLUSTER_MAX);
  const swp = lg.host.swap === null ? 0 : (swappiness ?? lg.getSwappiness());
  const tr = t.engine.trace;
  if (tr !== null) tr.emit(t, 'mm_vmscan_memcg_reclaim_begin', { memcg: memcg.path, nrPages });
  let reclaimed = 0;
  const memcgs = lg.host.memcgs.subtree(memcg);
  for (let priority = DEF_PRIORITY; priority >= 0 && reclaimed < target; priority--) {
    for (let nid = 0; nid < lg.host.mem.nodes.length; nid++) {
      // shrink_node_memcgs: a partial walk of the subtree that bails once the goal is reached.
      for (const m of memcgs) {
        reclaimed += yield* tryToShrinkLruvec(t, lg, lg.lruvec(m, nid), priority, swp);
        if (reclaimed >= target) break;
      }
    }
  }
  if (tr !== null) tr.emit(t, 'mm_vmscan_memcg_reclaim_end', { memcg: memcg.path, reclaimed });
  return reclaimed;
}

/**
 * shrink_node for kswapd and direct reclaim → lru_gen_shrink_node: one round at `priority` over
 * every memcg's lruvec on node `nid`, stopping once `nrToReclaim` pages are reclaimed. The kernel
 * picks memcgs from the node's memcg LRU (shrink_many, random bins); here they go in creation order.
 */
export function* shrinkNode(
  t: SimThread,
  lg: LruGen,
  nid: number,
  priority: number,
  nrToReclaim: number,
): Gen<number> {
  const swp = lg.host.swap === null ? 0 : lg.getSwappiness();
  let reclaimed = 0;
  for (const memcg of lg.host.memcgs.all) {
    if (reclaimed >= nrToReclaim) break;
    reclaimed += yield* tryToShrinkLruvec(t, lg, lg.lruvec(memcg, nid), priority, swp);
  }
  return reclaimed;
}
