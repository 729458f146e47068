import { tolower } from '../../fs/ctype.ts';
import { EINVAL } from '../../fs/errno.ts';
import { seqRead, sysfsKfWrite } from '../../fs/kernfs.ts';
import { kstrtouint } from '../../fs/kstrtox.ts';
import type { SimFile } from '../../fs/vfs.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { LruGen } from './lru-gen.ts';
import { jiffiesToMsecs, msecsToJiffies } from './lruvec.ts';

type Gen<R> = Generator<void, R, void>;

export const LRU_GEN_ENABLED = '/sys/kernel/mm/lru_gen/enabled';
export const LRU_GEN_MIN_TTL_MS = '/sys/kernel/mm/lru_gen/min_ttl_ms';

/**
 * enabled_store (mm/vmscan.c) on the kernel's NUL-terminated buffer: 'n'/'N' clears every cap,
 * 'y'/'Y' sets them all, anything else must be a kstrtouint(buf, 0) number. Returns the new caps
 * (before masking with what the hardware has) or -EINVAL.
 */
export function enabledStoreCaps(buf: Uint8Array): number {
  if (tolower(buf[0]) === 110) return 0;
  if (tolower(buf[0]) === 121) return 0xffffffff;
  const caps = kstrtouint(buf, 0);
  return caps < 0 ? -EINVAL : caps;
}

/** /sys/kernel/mm/lru_gen/enabled (mm/vmscan.c enabled_show / enabled_store). */
export class LruGenEnabledFile implements SimFile {
  readonly mode = 0o644;
  constructor(readonly lg: LruGen) {}

  // biome-ignore lint/correctness/useYield: never waits.
  *read(_t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    return seqRead(`0x${this.lg.caps.toString(16).padStart(4, '0')}\n`, pos, count);
  }

  *write(_t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    return sysfsKfWrite(data, (buf, len) => {
      const caps = enabledStoreCaps(buf);
      if (caps < 0) return caps;
      this.lg.caps = caps & this.lg.allCaps;
      return len;
    });
  }
}

/** /sys/kernel/mm/lru_gen/min_ttl_ms (mm/vmscan.c min_ttl_ms_show / min_ttl_ms_store). */
export class LruGenMinTtlFile implements SimFile {
  readonly mode = 0o644;
  constructor(readonly lg: LruGen) {}

  // biome-ignore lint/correctness/useYield: never waits.
  *read(_t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    return seqRead(`${jiffiesToMsecs(this.lg.minTtl)}\n`, pos, count);
  }

  /** min_ttl_ms_store: kstrtouint(buf, 0), kept in jiffies (msecs_to_jiffies). */
  *write(_t: SimThread, _pos: number, data: Uint8Array): Gen<number> {
    return sysfsKfWrite(data, (buf, len) => {
      const msecs = kstrtouint(buf, 0);
      if (msecs < 0) return -EINVAL;
      this.lg.minTtl = msecsToJiffies(msecs);
      return len;
    });
  }
}
