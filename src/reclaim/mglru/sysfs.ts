import { EINVAL } from '../../fs/errno.ts';
import type { SimFile } from '../../fs/vfs.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { LruGen } from './lru-gen.ts';

type Gen<R> = Generator<void, R, void>;

export const LRU_GEN_ENABLED = '/sys/kernel/mm/lru_gen/enabled';
export const LRU_GEN_MIN_TTL_MS = '/sys/kernel/mm/lru_gen/min_ttl_ms';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** kstrtouint(s, 0): decimal, 0x hex or 0 octal, one optional trailing newline; NaN on failure. */
export function kstrtouint(s: string): number {
  const t = s.endsWith('\n') ? s.slice(0, -1) : s;
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = Number.parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) v = Number.parseInt(t, 8);
  else if (/^[1-9][0-9]*$/.test(t)) v = Number(t);
  else return Number.NaN;
  return v > 0xffffffff ? Number.NaN : v;
}

function slice(text: string, pos: number, count: number): Uint8Array {
  const b = enc.encode(text);
  return b.subarray(Math.min(pos, b.length), Math.min(pos + count, b.length));
}

/** /sys/kernel/mm/lru_gen/enabled (enabled_show / enabled_store). */
export class LruGenEnabledFile implements SimFile {
  readonly mode = 0o644;
  constructor(readonly lg: LruGen) {}

  // biome-ignore lint/correctness/useYield: never waits.
  *read(_t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    return slice(`0x${this.lg.caps.toString(16).padStart(4, '0')}\n`, pos, count);
  }

  // biome-ignore lint/correctness/useYield: never waits.
  *write(_t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    const s = dec.decode(data);
    let caps: number;
    if (/^[nN]/.test(s)) caps = 0;
    else if (/^[yY]/.test(s)) caps = this.lg.allCaps;
    else {
      caps = kstrtouint(s);
      if (Number.isNaN(caps)) return -EINVAL;
    }
    this.lg.caps = caps & this.lg.allCaps;
    return data.length;
  }
}

/** /sys/kernel/mm/lru_gen/min_ttl_ms. */
export class LruGenMinTtlFile implements SimFile {
  readonly mode = 0o644;
  constructor(readonly lg: LruGen) {}

  // biome-ignore lint/correctness/useYield: never waits.
  *read(_t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    return slice(`${this.lg.minTtlMs}\n`, pos, count);
  }

  // biome-ignore lint/correctness/useYield: never waits.
  *write(_t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    const v = kstrtouint(dec.decode(data));
    if (Number.isNaN(v)) return -EINVAL;
    this.lg.minTtlMs = v;
    return data.length;
  }
}
