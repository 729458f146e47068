import { EEXIST, EINVAL } from '../../fs/errno.ts';
import type { SimFile } from '../../fs/vfs.ts';
import type { SimThread } from '../../sim/thread.ts';
import { tryToIncMaxSeq } from './aging.ts';
import type { LruGen } from './lru-gen.ts';
import { HZ, jiffies, LRU_GEN_ANON, LRU_GEN_FILE, type Lruvec, lruGenFromSeq } from './lruvec.ts';

type Gen<R> = Generator<void, R, void>;

/** Path of the debugfs file. */
export const LRU_GEN_DEBUGFS = '/sys/kernel/debug/lru_gen';
/** MAX_SWAPPINESS + 1: "swappiness=max", anon only. */
export const SWAPPINESS_ANON_ONLY = 201;
/** Highest node id the model accepts (MAX_NUMNODES). */
const MAX_NUMNODES = 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * /sys/kernel/debug/lru_gen (mm/vmscan.c lru_gen_seq_show, lru_gen_seq_write): the generations of
 * every memcg and node, and the `+` (aging) command. The `-` (eviction) command comes with eviction.
 */
export class LruGenDebugfs implements SimFile {
  readonly mode = 0o644;
  constructor(readonly lg: LruGen) {}

  /** The whole file as the kernel prints it. */
  show(nowNs: number): string {
    const host = this.lg.host;
    let out = '';
    const now = jiffies(nowNs);
    for (const memcg of host.memcgs.all) {
      for (let nid = 0; nid < host.mem.nodes.length; nid++) {
        const l = this.lg.lruvec(memcg, nid);
        if (nid === 0) out += `memcg ${String(memcg.id).padStart(5)} ${memcg.path}\n`;
        out += ` node ${String(nid).padStart(5)}\n`;
        out += showGens(l, now);
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
    for (const raw of dec.decode(data).split(/[,;\n]/)) {
      const tok = raw.replace(/^ +/, '');
      if (tok === '') continue;
      const r = yield* this.runCmd(t, tok);
      if (r < 0) return r;
    }
    return data.length;
  }

  /** run_cmd: parse "%c %u %u %lu %n %u %n %lu %n" and check it. */
  private *runCmd(t: SimThread, tok: string): Gen<number> {
    const m = /^(\S) +(\d+) +(\d+) +(\d+)(?: +(\d+)(?: +(\d+))?)? *$/.exec(tok);
    if (m === null) return -EINVAL;
    const [cmd, memcgId, nid, seq] = [m[1], Number(m[2]), Number(m[3]), Number(m[4])];
    let swappiness = m[5] === undefined ? -1 : Number(m[5]);
    const opt = m[6] === undefined ? -1 : Number(m[6]);
    const host = this.lg.host;
    if (nid >= MAX_NUMNODES || nid >= host.mem.nodes.length) return -EINVAL;
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
    if (cmd === '-') return -EINVAL;
    return -EINVAL;
  }
}

/** The generation lines of one lruvec (lru_gen_seq_show without the full details). */
function showGens(l: Lruvec, now: number): string {
  let out = '';
  const minSeq = Math.min(l.minSeq[LRU_GEN_ANON], l.minSeq[LRU_GEN_FILE]);
  for (let seq = minSeq; seq <= l.maxSeq; seq++) {
    const gen = lruGenFromSeq(seq);
    const ageMs = Math.floor(((now - l.timestamps[gen]) * 1000) / HZ);
    out += ` ${String(seq).padStart(10)} ${String(ageMs).padStart(10)}`;
    for (const type of [LRU_GEN_ANON, LRU_GEN_FILE]) out += ` ${String(l.pagesIn(seq, type)).padStart(10)} `;
    out += '\n';
  }
  return out;
}
