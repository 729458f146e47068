/**
 * Models mm/vmscan.c: /sys/kernel/debug/lru_gen and lru_gen_full (lru_gen_seq_show,
 * lru_gen_seq_write, run_cmd, run_aging, run_eviction).
 */
import { cBuf, skipSpaces, strsepAll, substr } from '../../fs/cstring.ts';
import { EACCES, EEXIST, EINVAL } from '../../fs/errno.ts';
import type { SimFile } from '../../fs/vfs.ts';
import type { NumaNode } from '../../host/numa-node.ts';
import type { SimThread } from '../../sim/thread.ts';
import { tryToIncMaxSeq } from './aging.ts';
import { type EvictResult, evictFolios } from './eviction.ts';
import type { LruGen } from './lru-gen.ts';
import { type LruGenCmd, parseLruGenCmd, SWAPPINESS_ANON_ONLY } from './lru-gen-cmd.ts';
import {
  HZ,
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
import { evictableMinSeq } from './shrink.ts';

type Gen<R> = Generator<void, R, void>;

/** N_MEMORY: the node has memory. */
function hasMemory(node: NumaNode): boolean {
  return node.endPfn > node.startPfn;
}

/** Paths of the debugfs files. */
export const LRU_GEN_DEBUGFS = '/sys/kernel/debug/lru_gen';
export const LRU_GEN_FULL_DEBUGFS = '/sys/kernel/debug/lru_gen_full';
/** Highest node id the model accepts (MAX_NUMNODES). */
const MAX_NUMNODES = 1024;

const enc = new TextEncoder();
/** MIN_SWAPPINESS: below it, run_cmd uses get_swappiness. */
const MIN_SWAPPINESS = 0;
/** The command bytes. */
const PLUS = 43;
const MINUS = 45;

/**
 * /sys/kernel/debug/lru_gen (mm/vmscan.c lru_gen_seq_show, lru_gen_seq_write): the generations of
 * every memcg and node, and the `+` (aging) and `-` (eviction) commands.
 */
export class LruGenDebugfs implements SimFile {
  readonly mode: number;
  constructor(
    readonly lg: LruGen,
    /** lru_gen_full: read-only, every generation with tier and mm-walk rows. */
    readonly full = false,
  ) {
    this.mode = full ? 0o444 : 0o644;
  }

  /** The whole file as the kernel prints it. */
  show(nowNs: number): string {
    const host = this.lg.host;
    let out = '';
    const now = jiffies(nowNs);
    for (const memcg of host.memcgs.all) {
      let first = true;
      for (let nid = 0; nid < host.mem.nodes.length; nid++) {
        if (!hasMemory(host.mem.nodes[nid])) continue;
        const l = this.lg.lruvec(memcg, nid);
        if (first) out += `memcg ${String(memcg.id).padStart(5)} ${memcg.path}\n`;
        first = false;
        out += ` node ${String(nid).padStart(5)}\n`;
        out += showGens(l, now, this.full);
      }
    }
    return out;
  }

  // biome-ignore lint/correctness/useYield: SimFile reads are generators; this one never waits.
  *read(t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    const all = enc.encode(this.show(t.now));
    return all.subarray(Math.min(pos, all.length), Math.min(pos + count, all.length));
  }

  /**
   * lru_gen_seq_write: the commands separated by `,` `;` or newlines (up to the first NUL), blank
   * ones skipped; stops at the first error. Nothing run at all is -EINVAL (err starts so).
   */
  *write(t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    if (this.full) return -EACCES;
    const buf = cBuf(data);
    let err = -EINVAL;
    for (const [start, end] of strsepAll(buf, ',;\n')) {
      const cur = skipSpaces(buf, start);
      if (cur >= end) continue;
      const c = parseLruGenCmd(substr(buf, cur, end));
      err = typeof c === 'number' ? c : yield* this.runCmd(t, c);
      if (err) break;
    }
    return err || data.length;
  }

  /** run_cmd: check the node, memcg and swappiness, then run_aging or run_eviction. */
  *runCmd(t: SimThread, c: LruGenCmd): Gen<number> {
    const host = this.lg.host;
    // int nid: node_state(nid, N_MEMORY).
    if (
      c.nid < 0 ||
      c.nid >= MAX_NUMNODES ||
      c.nid >= host.mem.nodes.length ||
      !hasMemory(host.mem.nodes[c.nid])
    )
      return -EINVAL;
    // mem_cgroup_from_id, then memcg_id != mem_cgroup_id(memcg).
    const memcg = host.memcgs.byId(c.memcgId);
    if (memcg === undefined || memcg.id !== c.memcgId) return -EINVAL;
    const l = this.lg.lruvec(memcg, c.nid);
    let swappiness = c.swappiness;
    if (swappiness < MIN_SWAPPINESS) swappiness = this.lg.getSwappiness();
    else if (swappiness > SWAPPINESS_ANON_ONLY) return -EINVAL;
    if (c.cmd === PLUS) return yield* this.runAging(t, l, c.seq, swappiness, c.opt !== 0n);
    if (c.cmd === MINUS) return yield* this.runEviction(t, l, c.seq, swappiness, c.opt);
    return -EINVAL;
  }

  /** run_aging: a stale (smaller) seq is accepted; aging starts from the current max_seq. */
  private *runAging(
    t: SimThread,
    l: Lruvec,
    seq: bigint,
    swappiness: number,
    forceScan: boolean,
  ): Gen<number> {
    if (seq > BigInt(l.maxSeq)) return -EINVAL;
    return (yield* this.incMaxSeq(t, l, swappiness, forceScan)) ? 0 : -EEXIST;
  }

  /**
   * run_eviction: evict from generations up to `seq` (the u64 `seq + MIN_NR_GENS` may wrap), until
   * the evictable min_seq passes it or `nrToReclaim` pages are reclaimed.
   */
  private *runEviction(
    t: SimThread,
    l: Lruvec,
    seq: bigint,
    swappiness: number,
    nrToReclaim: bigint,
  ): Gen<number> {
    if (BigInt.asUintN(64, seq + BigInt(MIN_NR_GENS)) > BigInt(l.maxSeq)) return -EINVAL;
    let reclaimed = 0;
    for (;;) {
      if (seq < BigInt(evictableMinSeq(l, swappiness))) return 0;
      if (BigInt(reclaimed) >= nrToReclaim) return 0;
      const batch = Math.min(Number(nrToReclaim - BigInt(reclaimed)), MAX_LRU_BATCH);
      const r = yield* this.evict(t, l, swappiness, batch);
      reclaimed += r.reclaimed;
      if (r.scanned === 0) return 0;
    }
  }

  /** try_to_inc_max_seq from the current max_seq. */
  protected *incMaxSeq(t: SimThread, l: Lruvec, swappiness: number, forceScan: boolean): Gen<boolean> {
    return yield* tryToIncMaxSeq(t, this.lg, l, l.maxSeq, swappiness, forceScan);
  }

  /** evict_folios. */
  protected *evict(t: SimThread, l: Lruvec, swappiness: number, nrToScan: number): Gen<EvictResult> {
    return yield* evictFolios(t, this.lg, l, swappiness, nrToScan);
  }
}

const pad = (n: number) => String(n).padStart(10);

/**
 * The generation lines of one lruvec (lru_gen_seq_show): from the older min_seq for lru_gen, the
 * last MAX_NR_GENS for lru_gen_full, which marks retired generations with 'x' and adds the tier and
 * mm-walk rows (lru_gen_seq_show_full).
 */
function showGens(l: Lruvec, now: number, full: boolean): string {
  let out = '';
  let seq = full
    ? Math.max(l.maxSeq - MAX_NR_GENS + 1, 0)
    : Math.min(l.minSeq[LRU_GEN_ANON], l.minSeq[LRU_GEN_FILE]);
  for (; seq <= l.maxSeq; seq++) {
    const gen = lruGenFromSeq(seq);
    const ageMs = Math.floor(((now - l.timestamps[gen]) * 1000) / HZ);
    out += ` ${pad(seq)} ${pad(ageMs)}`;
    for (const type of [LRU_GEN_ANON, LRU_GEN_FILE]) {
      const mark = full && seq < l.minSeq[type] ? 'x' : ' ';
      out += ` ${pad(l.pagesIn(seq, type))}${mark}`;
    }
    out += '\n';
    if (full) out += showFull(l, seq);
  }
  return out;
}

/** lru_gen_seq_show_full: four tier rows, then the mm-walk statistics. */
function showFull(l: Lruvec, seq: number): string {
  let out = '';
  for (let tier = 0; tier < MAX_NR_TIERS; tier++) {
    out += `            ${pad(tier)}`;
    for (const type of [LRU_GEN_ANON, LRU_GEN_FILE]) {
      const i = type * MAX_NR_TIERS + tier;
      let s = 'xxx';
      let n = [0, 0, 0];
      if (seq === l.maxSeq) {
        s = 'RTx';
        n = [l.avgRefaulted[i], l.avgTotal[i], 0];
      } else if (seq === l.minSeq[type]) {
        s = 'rep';
        n = [l.refaulted[i], l.evicted[i], l.protected[i]];
      }
      for (let k = 0; k < 3; k++) out += ` ${pad(n[k])}${s[k]}`;
    }
    out += '\n';
  }
  out += '                      ';
  for (let i = 0; i < 4; i++) {
    // NR_HIST_GENS is 1: the statistics show on the max_seq row only.
    const mine = seq === l.maxSeq;
    out += ` ${pad(mine ? l.mmState.stats[i] : 0)}${mine ? 'TYFA'[i] : 'x'}`;
  }
  return `${out}\n`;
}
