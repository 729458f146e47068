import { strstrip, substr } from '../fs/cstring.ts';
import { EINVAL } from '../fs/errno.ts';
import { kernfsWriteBuf, PAGE_SIZE } from '../fs/kernfs.ts';
import { memparse } from '../fs/memparse.ts';
import type { SimFile } from '../fs/vfs.ts';
import type { Memcg } from '../host/memcg.ts';
import type { SimThread } from '../sim/thread.ts';
import { MAX_RECLAIM_RETRIES } from './memory-reclaim.ts';
import type { LruGen } from './mglru/lru-gen.ts';
import { tryToFreeMemCgroupPages } from './mglru/shrink.ts';

type Gen<R> = Generator<void, R, void>;

const enc = new TextEncoder();

/**
 * cgroup v2 memory.max (mm/memcontrol.c memory_max_show / memory_max_write): the hard limit, "max"
 * or bytes. Lowering it reclaims down to the new limit at once; a charge that would exceed it
 * reclaims first (Host.memcgReclaim).
 */
export class MemoryMaxFile implements SimFile {
  readonly mode = 0o644;

  constructor(
    readonly lg: LruGen,
    readonly memcg: Memcg,
  ) {}

  // biome-ignore lint/correctness/useYield: never waits.
  *read(_t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    const m = this.memcg.max;
    const b = enc.encode(`${m === Number.POSITIVE_INFINITY ? 'max' : m * PAGE_SIZE}\n`);
    return b.subarray(Math.min(pos, b.length), Math.min(pos + count, b.length));
  }

  /** memory_max_write: strstrip, then page_counter_memparse(buf, "max"). */
  *write(t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    const buf = kernfsWriteBuf(data, PAGE_SIZE);
    if (typeof buf === 'number') return buf;
    if (data.length === 0) return 0;
    const max = pageCounterMemparse(buf);
    if (max < 0) return max;
    this.memcg.max = max;
    for (let retries = MAX_RECLAIM_RETRIES; this.memcg.pages > max && retries > 0; retries--) {
      yield* tryToFreeMemCgroupPages(t, this.lg, this.memcg, this.memcg.pages - max, null);
    }
    return data.length;
  }
}

/** PAGE_COUNTER_MAX (64-bit): LONG_MAX / PAGE_SIZE pages, shown as "max". */
const PAGE_COUNTER_MAX = 2 ** 63 / PAGE_SIZE - 1;

/**
 * page_counter_memparse of the stripped buffer: "max" is no limit (Infinity here), anything else a
 * memparse size with nothing after it, in pages, capped at PAGE_COUNTER_MAX. Returns -EINVAL else.
 */
export function pageCounterMemparse(buf: Uint8Array): number {
  const [start, end] = strstrip(buf);
  const b = substr(buf, start, end);
  if (b.length === 4 && b[0] === 109 && b[1] === 97 && b[2] === 120) return Number.POSITIVE_INFINITY;
  const v = memparse(b, 0);
  if (b[v.end] !== 0) return -EINVAL;
  const pages = Number(v.value / BigInt(PAGE_SIZE));
  return pages >= PAGE_COUNTER_MAX ? Number.POSITIVE_INFINITY : pages;
}

/** The path of a cgroup's memory.max file. */
export function memoryMaxPath(memcg: Memcg): string {
  return `/sys/fs/cgroup${memcg.path === '/' ? '' : memcg.path}/memory.max`;
}
