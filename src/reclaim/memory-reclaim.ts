/** Models mm/memcontrol.c: cgroup v2 memory.reclaim (memory_reclaim). */
import { strsepAll, strstrip, substr } from '../fs/cstring.ts';
import { EAGAIN, EINVAL } from '../fs/errno.ts';
import { kernfsWriteBuf, PAGE_SIZE } from '../fs/kernfs.ts';
import { type MatchRow, matchInt, matchToken } from '../fs/match-token.ts';
import { memparse } from '../fs/memparse.ts';
import type { SimFile } from '../fs/vfs.ts';
import type { Memcg } from '../host/memcg.ts';
import type { SimThread } from '../sim/thread.ts';
import type { LruGen } from './mglru/lru-gen.ts';
import { tryToFreeMemCgroupPages } from './mglru/shrink.ts';

type Gen<R> = Generator<void, R, void>;

/** MAX_RECLAIM_RETRIES. */
export const MAX_RECLAIM_RETRIES = 16;
/** MAX_SWAPPINESS, and SWAPPINESS_ANON_ONLY for swappiness=max. */
const MAX_SWAPPINESS = 200;
const SWAPPINESS_ANON_ONLY = MAX_SWAPPINESS + 1;

/** memory_reclaim's option tokens. */
const Opt = { Swappiness: 0, SwappinessMax: 1, Null: 2 } as const;
const TOKENS: MatchRow<number>[] = [
  { token: Opt.Swappiness, pattern: 'swappiness=%d' },
  { token: Opt.SwappinessMax, pattern: 'swappiness=max' },
  { token: Opt.Null, pattern: null },
];

/** What a memory.reclaim write asks for: pages to reclaim and the swappiness (null: the memcg's). */
export interface ReclaimRequest {
  nrToReclaim: number;
  swappiness: number | null;
}

/**
 * memory_reclaim's parse (mm/memcontrol.c, 6.15) of the NUL-terminated buffer: strstrip, a memparse
 * size (at least the suffix or one digit), strstrip, then options split at single spaces, each
 * "swappiness=%d" (match_int, 0-200) or "swappiness=max". Returns the request or -EINVAL.
 */
export function parseMemoryReclaim(buf: Uint8Array): ReclaimRequest | number {
  const [start, end] = strstrip(buf);
  const b = substr(buf, start, end);
  const size = memparse(b, 0);
  if (size.end === 0) return -EINVAL;
  const nrToReclaim = Number(size.value / BigInt(PAGE_SIZE));
  let swappiness: number | null = null;
  const [optStart, optEnd] = strstrip(b, size.end);
  for (const [s, e] of strsepAll(b, ' ', optStart, optEnd)) {
    if (s === e) continue;
    const opt = substr(b, s, e);
    const m = matchToken(opt, 0, TOKENS);
    if (m.token === Opt.Swappiness) {
      const v = matchInt(opt, m.args[0]);
      if (typeof v === 'number' || v.value < 0 || v.value > MAX_SWAPPINESS) return -EINVAL;
      swappiness = v.value;
    } else if (m.token === Opt.SwappinessMax) swappiness = SWAPPINESS_ANON_ONLY;
    else return -EINVAL;
  }
  return { nrToReclaim, swappiness };
}

/**
 * cgroup v2 memory.reclaim (mm/memcontrol.c memory_reclaim): "<size> [swappiness=<0-200>|max]".
 * A cgroup file: writes over PAGE_SIZE are -E2BIG, empty ones return 0. Reclaims in batches of a
 * quarter of what is left through try_to_free_mem_cgroup_pages (the memcg and its descendants);
 * -EAGAIN when the retries run out with nothing reclaimed.
 */
export class MemoryReclaimFile implements SimFile {
  readonly mode = 0o200;
  /** Pages reclaimed by writes to this file. */
  reclaimed = 0;

  constructor(
    readonly lg: LruGen,
    readonly memcg: Memcg,
  ) {}

  *write(t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    const buf = kernfsWriteBuf(data, PAGE_SIZE);
    if (typeof buf === 'number') return buf;
    if (data.length === 0) return 0;
    const req = parseMemoryReclaim(buf);
    if (typeof req === 'number') return req;
    let reclaimed = 0;
    let retries = MAX_RECLAIM_RETRIES;
    while (reclaimed < req.nrToReclaim) {
      const batch = Math.floor((req.nrToReclaim - reclaimed) / 4);
      if (retries === 0) this.lg.host.lru.drainAll(t);
      const r = yield* this.tryToFree(t, batch, req.swappiness);
      if (r === 0 && retries-- === 0) return -EAGAIN;
      reclaimed += r;
    }
    this.reclaimed += reclaimed;
    return data.length;
  }

  /** try_to_free_mem_cgroup_pages on this memcg (and its descendants). */
  protected *tryToFree(t: SimThread, batch: number, swappiness: number | null): Gen<number> {
    return yield* tryToFreeMemCgroupPages(t, this.lg, this.memcg, batch, swappiness);
  }
}

/** The path of a cgroup's memory.reclaim file. */
export function memoryReclaimPath(memcg: Memcg): string {
  return `/sys/fs/cgroup${memcg.path === '/' ? '' : memcg.path}/memory.reclaim`;
}
