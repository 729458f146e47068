/**
 * Models mm/vmscan.c: kswapd with MGLRU (wakeup_kswapd, balance_pgdat, lru_gen_age_node) and
 * direct reclaim in __alloc_pages_slowpath (mm/page_alloc.c).
 */
import type { NumaNode } from '../../host/numa-node.ts';
import type { SimThread, ThreadBody } from '../../sim/thread.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import type { LruGen } from './lru-gen.ts';
import { jiffies, jiffiesToMsecs, LRU_GEN_ANON, LRU_GEN_FILE, type Lruvec, lruGenFromSeq } from './lruvec.ts';
import { DEF_PRIORITY, SWAP_CLUSTER_MAX, shrinkNode } from './shrink.ts';

/** Counters of one node's kswapd. */
export class KswapdStats {
  /** wakeup_kswapd calls that woke the thread. */
  wakeups = 0;
  /** balance_pgdat runs. */
  balanceRuns = 0;
  /** lru_gen_age_node calls, and how many found no lruvec reclaimable. */
  ageNodeCalls = 0;
  notReclaimable = 0;
  /** Pages reclaimed. */
  reclaimed = 0;
}

/**
 * kswapd with MGLRU (mm/vmscan.c) for one node: a thread sleeping on pgdat->kswapd_wait, woken when
 * an allocation leaves the node's free pages below the low watermark (wakeup_kswapd), that reclaims
 * until they are back above the high watermark (balance_pgdat). Before each round it runs
 * lru_gen_age_node, which invokes the OOM killer when min_ttl is set and no lruvec is reclaimable:
 * the only place the kernel enforces /sys/kernel/mm/lru_gen/min_ttl_ms.
 */
export class Kswapd {
  readonly stats = new KswapdStats();
  /** pgdat->kswapd_wait, as a count of wake-ups. */
  private readonly wait: WaitCount;
  private sleeping = false;

  constructor(
    readonly lg: LruGen,
    readonly node: NumaNode,
  ) {
    this.wait = new WaitCount(lg.host.engine, false);
  }

  /** The thread body: sleep, balance, repeat. */
  *run(t: SimThread): ThreadBody {
    const tr = t.engine.trace;
    const nid = this.node.nid;
    for (let seen = 0, before = 0; ; seen++) {
      if (tr !== null)
        tr.emit(t, 'mm_vmscan_kswapd_sleep', { nid, reclaimed: this.stats.reclaimed - before });
      this.sleeping = true;
      yield this.wait.waitFor(t, seen + 1);
      this.sleeping = false;
      if (tr !== null) tr.emit(t, 'mm_vmscan_kswapd_wake', { nid });
      before = this.stats.reclaimed;
      yield* this.balancePgdat(t);
    }
  }

  /** wakeup_kswapd: called by the allocator when the node fell below its low watermark. */
  wakeup(t: SimThread): void {
    if (!this.sleeping || this.node.freePages() >= this.node.wmarkHigh) return;
    this.sleeping = false;
    this.stats.wakeups++;
    this.wait.add(t, 1);
  }

  /**
   * balance_pgdat: from DEF_PRIORITY down, age the node (kswapd_age_node → lru_gen_age_node), then
   * shrink it (kswapd_shrink_node: at least the high watermark's worth, SWAP_CLUSTER_MAX at least)
   * until free pages reach the high watermark. set_initial_priority's shortcut is not modelled.
   */
  *balancePgdat(t: SimThread): Generator<void, void, void> {
    this.stats.balanceRuns++;
    const node = this.node;
    const nrToReclaim = Math.max(node.wmarkHigh, SWAP_CLUSTER_MAX);
    // set_reclaim_active: the per-CPU lists of the node hold at most 4 batches meanwhile (pcp.ts).
    node.reclaimActive = true;
    try {
      for (let priority = DEF_PRIORITY; priority >= 1; priority--) {
        if (node.freePages() >= node.wmarkHigh) return;
        this.lruGenAgeNode(priority);
        this.stats.reclaimed += yield* shrinkNode(t, this.lg, node.nid, priority, nrToReclaim);
      }
    } finally {
      node.reclaimActive = false;
    }
  }

  /**
   * lru_gen_age_node: with min_ttl set, at least one memcg's lruvec on this node must be
   * reclaimable, or the OOM killer runs: the main goal is to OOM kill if every generation of every
   * memcg is younger than min_ttl.
   */
  lruGenAgeNode(priority: number): void {
    this.stats.ageNodeCalls++;
    const lg = this.lg;
    if (lg.minTtl === 0n) return;
    const minTtl = Number(lg.minTtl);
    const now = jiffies(lg.host.engine.now);
    for (const memcg of lg.host.memcgs.all)
      if (lruvecIsReclaimable(lg, lg.lruvec(memcg, this.node.nid), priority, minTtl, now)) return;
    this.stats.notReclaimable++;
    lg.host.outOfMemory(
      `lru_gen min_ttl: every generation on node ${this.node.nid} is younger than ${jiffiesToMsecs(lg.minTtl)} ms`,
    );
  }
}

/**
 * lruvec_is_reclaimable: big enough to help at this priority (lruvec_is_sizable) and its oldest
 * evictable generation born at least min_ttl jiffies ago. (memory.min protection is not modelled.)
 */
function lruvecIsReclaimable(lg: LruGen, l: Lruvec, priority: number, minTtl: number, now: number): boolean {
  const types = lg.getSwappiness() === 0 ? [LRU_GEN_FILE] : [LRU_GEN_ANON, LRU_GEN_FILE];
  let total = 0;
  let ems = Number.POSITIVE_INFINITY;
  for (const type of types) {
    ems = Math.min(ems, l.minSeq[type]);
    for (let seq = l.minSeq[type]; seq <= l.maxSeq; seq++) total += l.pagesIn(seq, type);
  }
  if (Math.floor(total / 2 ** priority) === 0) return false;
  const birth = l.timestamps[lruGenFromSeq(ems)];
  return birth + minTtl < now;
}

/** MAX_RECLAIM_RETRIES: direct reclaims without progress before the OOM killer. */
const MAX_RECLAIM_RETRIES = 16;
/** reclaim_throttle(VMSCAN_THROTTLE_NOPROGRESS): up to 2 jiffies of waiting for kswapd. */
const THROTTLE_NOPROGRESS_NS = 2_000_000;

/**
 * __alloc_pages_slowpath for the page a fault is about to allocate: while every node is at or
 * below its min watermark, wake kswapd and reclaim directly (try_to_free_pages: rounds from
 * DEF_PRIORITY down to 0 until SWAP_CLUSTER_MAX pages are reclaimed). A reclaim without progress
 * (say, kswapd is mid-aging, so the lruvec cannot be aged again) throttles for kswapd and retries;
 * after MAX_RECLAIM_RETRIES of those, the OOM killer.
 */
export function* allocSlowpath(t: SimThread, lg: LruGen): Generator<void, void, void> {
  const { nodes, kswapdWakeup } = lg.host.mem;
  for (let retries = 0; !nodes.some((n) => n.freePages() > n.wmarkMin); retries++) {
    if (kswapdWakeup !== null) for (const n of nodes) kswapdWakeup(t, n.nid); // wake_all_kswapds
    lg.directReclaims++;
    const tr = t.engine.trace;
    if (tr !== null) tr.emit(t, 'mm_vmscan_direct_reclaim_begin', { retry: retries });
    let reclaimed = 0;
    for (let priority = DEF_PRIORITY; priority >= 0 && reclaimed < SWAP_CLUSTER_MAX; priority--)
      for (const n of nodes) reclaimed += yield* shrinkNode(t, lg, n.nid, priority, SWAP_CLUSTER_MAX);
    if (tr !== null) tr.emit(t, 'mm_vmscan_direct_reclaim_end', { reclaimed });
    if (reclaimed > 0) return;
    if (retries >= MAX_RECLAIM_RETRIES) lg.host.outOfMemory('page allocation failure: no reclaim progress');
    lg.reclaimThrottled++;
    t.advance(THROTTLE_NOPROGRESS_NS);
    if (t.mustSync()) yield;
  }
}
