/**
 * Models include/linux/mmzone.h: struct lru_gen_folio, struct lru_gen_mm_state and MGLRU's
 * constants; lru_gen_from_seq (mm_inline.h), reset_ctrl_pos (mm/vmscan.c), jiffies (include/linux/jiffies.h).
 */
import type { FolioList, LruLinks } from '../../host/lru-list.ts';
import type { Memcg } from '../../host/memcg.ts';

export const MIN_NR_GENS = 2;
export const MAX_NR_GENS = 4;
export const MAX_NR_TIERS = 4;
export const MIN_LRU_BATCH = 64;
export const MAX_LRU_BATCH = MIN_LRU_BATCH * 64;
export const LRU_GEN_ANON = 0;
export const LRU_GEN_FILE = 1;
/** Bloom filter size: 2^15 bits (BLOOM_FILTER_SHIFT). */
export const BLOOM_FILTER_SHIFT = 15;
/** Jiffies per second (CONFIG_HZ=1000). */
export const HZ = 1000;

/** Caps of /sys/kernel/mm/lru_gen/enabled. */
export const LRU_GEN_CORE = 0x1;
export const LRU_GEN_MM_WALK = 0x2;
export const LRU_GEN_NONLEAF_YOUNG = 0x4;
/** Seed 003 v4 only: aging walks clear young bits in secondary MMUs. */
export const LRU_GEN_SECONDARY_MMU_WALK = 0x8;

/** lru_gen_from_seq. */
export function lruGenFromSeq(seq: number): number {
  return seq % MAX_NR_GENS;
}

/** Jiffies at simulated time `ns`. */
export function jiffies(ns: number): number {
  return Math.floor((ns * HZ) / 1e9);
}

/** MAX_JIFFY_OFFSET (64-bit): ((LONG_MAX >> 1) - 1), what a negative timeout becomes. */
export const MAX_JIFFY_OFFSET = (1n << 62n) - 2n;

/** msecs_to_jiffies: rounds up; an argument negative as an int (>= 2^31) is MAX_JIFFY_OFFSET. */
export function msecsToJiffies(m: number): bigint {
  if (m >= 2 ** 31) return MAX_JIFFY_OFFSET;
  const per = 1000 / HZ;
  return BigInt(Math.ceil(m / per));
}

/** jiffies_to_msecs: as an unsigned int, so MAX_JIFFY_OFFSET reads back as 4294967294 at HZ=1000. */
export function jiffiesToMsecs(j: bigint): number {
  return Number(BigInt.asUintN(32, j * BigInt(1000 / HZ)));
}

/** walk_mm counters (MM_LEAF_TOTAL, MM_LEAF_YOUNG, MM_NONLEAF_FOUND, MM_NONLEAF_ADDED). */
export const MM_LEAF_TOTAL = 0;
export const MM_LEAF_YOUNG = 1;
export const MM_NONLEAF_FOUND = 2;
export const MM_NONLEAF_ADDED = 3;

/** struct lru_gen_mm_state: the mm-list iteration and the Bloom filters of page-table pages. */
export class LruGenMmState {
  /** Last completed mm-list iteration (kept in step with max_seq). */
  seq = MIN_NR_GENS;
  /** Index of the next mm of the memcg's mm list to walk (-1: at the sentinel). */
  head = -1;
  /** The max_seq an aging walker is iterating the mm list for now, or -1. */
  walkingSeq = -1;
  /** filters[seq % 2]: null until allocated (testing an unallocated filter returns true). */
  readonly filters: Array<Uint32Array | null> = [null, null];
  /** stats[hist][MM_*] with NR_HIST_GENS = 1. */
  readonly stats = new Float64Array(4);
}

/**
 * One lruvec (memcg, node) with its multi-gen LRU state (struct lru_gen_folio): max_seq, min_seq
 * per type, generation birth times, and per generation and type the folio lists and page counts.
 * A single zone per node is modelled.
 */
export class Lruvec {
  maxSeq = MIN_NR_GENS + 1;
  readonly minSeq = [0, 0];
  /** Birth time of each generation slot, in jiffies. */
  readonly timestamps = new Float64Array(MAX_NR_GENS);
  /** nr_pages[gen][type] as [gen * 2 + type]. */
  readonly nrPages = new Float64Array(MAX_NR_GENS * 2);
  readonly folios: FolioList[] = [];
  readonly mmState = new LruGenMmState();
  /**
   * PID-controller bookkeeping per [type * MAX_NR_TIERS + tier] (NR_HIST_GENS = 1): running
   * averages, and the counts since min_seq last moved.
   */
  readonly avgRefaulted = new Float64Array(2 * MAX_NR_TIERS);
  readonly avgTotal = new Float64Array(2 * MAX_NR_TIERS);
  readonly refaulted = new Float64Array(2 * MAX_NR_TIERS);
  readonly evicted = new Float64Array(2 * MAX_NR_TIERS);
  readonly protected = new Float64Array(2 * MAX_NR_TIERS);

  constructor(
    readonly memcg: Memcg,
    readonly nid: number,
    nowNs: number,
    links: LruLinks,
  ) {
    this.timestamps.fill(jiffies(nowNs));
    for (let i = 0; i < MAX_NR_GENS * 2; i++) this.folios.push(links.newList());
  }

  /** Generations of a type: max_seq - min_seq + 1 (between 2 and 4). */
  nrGens(type: number): number {
    return this.maxSeq - this.minSeq[type] + 1;
  }

  /**
   * reset_ctrl_pos when min_seq of `type` moves (carryover): fold the counts into the averages and,
   * with one histogram generation, clear them.
   */
  resetCtrlPos(type: number): void {
    for (let tier = 0; tier < MAX_NR_TIERS; tier++) {
      const i = type * MAX_NR_TIERS + tier;
      this.avgRefaulted[i] = Math.floor((this.avgRefaulted[i] + this.refaulted[i]) / 2);
      this.avgTotal[i] = Math.floor((this.avgTotal[i] + this.evicted[i] + this.protected[i]) / 2);
      this.refaulted[i] = 0;
      this.evicted[i] = 0;
      this.protected[i] = 0;
    }
  }

  /** Pages in generation `seq` of `type` (never below 0). */
  pagesIn(seq: number, type: number): number {
    return Math.max(this.nrPages[lruGenFromSeq(seq) * 2 + type], 0);
  }
}
