import { EAGAIN, EINVAL } from '../fs/errno.ts';
import type { SimFile } from '../fs/vfs.ts';
import type { Memcg } from '../host/memcg.ts';
import type { SimThread } from '../sim/thread.ts';
import type { LruGen } from './mglru/lru-gen.ts';
import { tryToFreeMemCgroupPages } from './mglru/shrink.ts';

type Gen<R> = Generator<void, R, void>;

/** MAX_RECLAIM_RETRIES. */
export const MAX_RECLAIM_RETRIES = 16;
/** swappiness=max: anon only. */
const SWAPPINESS_ANON_ONLY = 201;

const dec = new TextDecoder();

/** memparse: a number (decimal, 0x hex or 0 octal) with an optional K/M/G/T/P/E suffix; null if none. */
export function memparse(s: string): { value: number; rest: string } | null {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE]?)/.exec(s);
  if (m === null) return null;
  const base =
    m[1].startsWith('0x') || m[1].startsWith('0X')
      ? Number.parseInt(m[1].slice(2), 16)
      : m[1].startsWith('0')
        ? Number.parseInt(m[1], 8)
        : Number(m[1]);
  const shift = { '': 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 }[m[2].toLowerCase() as 'k'];
  return { value: base * 2 ** shift, rest: s.slice(m[0].length) };
}

/**
 * cgroup v2 memory.reclaim (mm/memcontrol.c memory_reclaim): "<size> [swappiness=<0-200>|max]".
 * Reclaims in batches of a quarter of what is left through try_to_free_mem_cgroup_pages; -EAGAIN
 * when the retries run out with nothing reclaimed.
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
    const text = dec.decode(data).trim();
    const size = memparse(text);
    if (size === null) return -EINVAL;
    let swappiness: number | null = null;
    for (const opt of size.rest
      .trim()
      .split(/\s+/)
      .filter((o) => o !== '')) {
      const m = /^swappiness=(max|\d+)$/.exec(opt);
      if (m === null) return -EINVAL;
      if (m[1] === 'max') swappiness = SWAPPINESS_ANON_ONLY;
      else if (Number(m[1]) > 200) return -EINVAL;
      else swappiness = Number(m[1]);
    }
    const target = Math.floor(size.value / 4096);
    let reclaimed = 0;
    let retries = MAX_RECLAIM_RETRIES;
    while (reclaimed < target) {
      const batch = Math.floor((target - reclaimed) / 4);
      if (retries === 0) this.lg.host.lru.drainAll(t);
      const r = yield* tryToFreeMemCgroupPages(t, this.lg, this.memcg, batch, swappiness);
      if (r === 0 && retries-- === 0) return -EAGAIN;
      reclaimed += r;
    }
    this.reclaimed += reclaimed;
    return data.length;
  }
}

/** The path of a cgroup's memory.reclaim file. */
export function memoryReclaimPath(memcg: Memcg): string {
  return `/sys/fs/cgroup${memcg.path === '/' ? '' : memcg.path}/memory.reclaim`;
}
