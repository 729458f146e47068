import { EINVAL } from '../fs/errno.ts';
import type { SimFile } from '../fs/vfs.ts';
import type { Memcg } from '../host/memcg.ts';
import type { SimThread } from '../sim/thread.ts';
import { MAX_RECLAIM_RETRIES, memparse } from './memory-reclaim.ts';
import type { LruGen } from './mglru/lru-gen.ts';
import { tryToFreeMemCgroupPages } from './mglru/shrink.ts';

type Gen<R> = Generator<void, R, void>;

const enc = new TextEncoder();
const dec = new TextDecoder();

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
    const b = enc.encode(`${m === Number.POSITIVE_INFINITY ? 'max' : m * 4096}\n`);
    return b.subarray(Math.min(pos, b.length), Math.min(pos + count, b.length));
  }

  *write(t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    const text = dec.decode(data).trim();
    let max: number;
    if (text === 'max') max = Number.POSITIVE_INFINITY;
    else {
      const v = memparse(text);
      if (v === null || v.rest !== '') return -EINVAL;
      max = Math.floor(v.value / 4096);
    }
    this.memcg.max = max;
    for (let retries = MAX_RECLAIM_RETRIES; this.memcg.pages > max && retries > 0; retries--) {
      yield* tryToFreeMemCgroupPages(t, this.lg, this.memcg, this.memcg.pages - max, null);
    }
    return data.length;
  }
}

/** The path of a cgroup's memory.max file. */
export function memoryMaxPath(memcg: Memcg): string {
  return `/sys/fs/cgroup${memcg.path === '/' ? '' : memcg.path}/memory.max`;
}
