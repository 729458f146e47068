import { EACCES, EEXIST, EINVAL } from '../../fs/errno.ts';
import type { SimFile } from '../../fs/vfs.ts';
import type { NumaNode } from '../../host/phys-mem.ts';
import type { SimThread } from '../../sim/thread.ts';
import { tryToIncMaxSeq } from './aging.ts';
import { evictFolios } from './eviction.ts';
import type { LruGen } from './lru-gen.ts';
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

type Gen<R> = Generator<void, R, void>;

/** N_MEMORY: the node has memory. */
function hasMemory(node: NumaNode): boolean {
  return node.endPfn > node.startPfn;
}

/** Paths of the debugfs files. */
export const LRU_GEN_DEBUGFS = '/sys/kernel/debug/lru_gen';
export const LRU_GEN_FULL_DEBUGFS = '/sys/kernel/debug/lru_gen_full';
/** MAX_SWAPPINESS + 1: "swappiness=max", anon only. */
export const SWAPPINESS_ANON_ONLY = 201;
/** Highest node id the model accepts (MAX_NUMNODES). */
const MAX_NUMNODES = 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();

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

  /** lru_gen_seq_write: commands separated by `,` `;` or newlines; stops at the first error. */
  *write(t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    if (this.full) return -EACCES;
    for (const raw of dec.decode(data).split(/[,;\n]/)) {
      const tok = raw.replace(/^ +/, '');
      if (tok === '') continue;
      const r = yield* this.runCmd(t, tok);
      if (r < 0) return r;
    }
    return data.length;
  }

  /** run_cmd: parse "%c %u %u %lu %n %u %n %lu %n" and check it, then run_aging or run_eviction. */
  private *runCmd(t: SimThread, tok: string): Gen<number> {
    const m = /^(\S) +(\d+) +(\d+) +(\d+)(?: +(\d+)(?: +(\d+))?)? *$/.exec(tok);
    if (m === null) return -EINVAL;
    const [cmd, memcgId, nid, seq] = [m[1], Number(m[2]), Number(m[3]), Number(m[4])];
    let swappiness = m[5] === undefined ? -1 : Number(m[5]);
    const opt = m[6] === undefined ? -1 : Number(m[6]);
    const host = this.lg.host;
    // Not a node, or a node without memory (node_state(nid, N_MEMORY)).
    if (nid >= MAX_NUMNODES || nid >= host.mem.nodes.length || !hasMemory(host.mem.nodes[nid]))
      return -EINVAL;
    const memcg = host.memcgs.byId(memcgId);
    if (memcg === undefined) return -EINVAL;
    if (swappiness < 0) swappiness = this.lg.getSwappiness();
    else if (swappiness > SWAPPINESS_ANON_ONLY) return -EINVAL;
    const l = this.lg.lruvec(memcg, nid);
    if (cmd === '+') {
      // run_aging: a stale (smaller) seq is accepted; aging starts from the current max_seq.
      if (seq > l.maxSeq) return -EINVAL;
      const ok = yield* tryToIncMaxSeq(t, this.lg, l, l.maxSeq, swappiness, opt !== 0);
      return ok ? 0 : -EEXIST;
    }
    if (cmd === '-') {
      // run_eviction: evict from generations up to `seq`, at most `opt` pages (default: no limit).
      if (seq + MIN_NR_GENS > l.maxSeq) return -EINVAL;
      const nrToReclaim = opt < 0 ? Number.POSITIVE_INFINITY : opt;
      let reclaimed = 0;
      for (;;) {
        const ems =
          swappiness === 0
            ? l.minSeq[LRU_GEN_FILE]
            : Math.min(l.minSeq[LRU_GEN_ANON], l.minSeq[LRU_GEN_FILE]);
        if (seq < ems || reclaimed >= nrToReclaim) return 0;
        const r = yield* evictFolios(
          t,
          this.lg,
          l,
          swappiness,
          Math.min(nrToReclaim - reclaimed, MAX_LRU_BATCH),
        );
        reclaimed += r.reclaimed;
        if (r.scanned === 0) return 0;
      }
    }
    return -EINVAL;
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
