/**
 * Models no kernel file: a stand-in for the VFS: simulated kernel files by path, reached with
 * pread(2) and pwrite(2).
 */
import { CAT } from '../sim/accounting.ts';
import { call, type SimThread } from '../sim/thread.ts';
import { EACCES, EINVAL, ENOENT } from './errno.ts';

type Gen<R> = Generator<void, R, void>;

/**
 * A simulated kernel file. `read` returns the bytes read or a negative errno; `write` returns the
 * bytes consumed or a negative errno. Both run on a simulated thread and may take locks.
 */
export interface SimFile {
  /** Permission bits, e.g. 0o600. */
  readonly mode: number;
  read?(t: SimThread, pos: number, count: number): Gen<Uint8Array | number>;
  write?(t: SimThread, pos: number, data: Uint8Array): Gen<number>;
}

/** The simulated file namespace: /sys, /proc and debugfs files by absolute path. */
export class Vfs {
  private readonly files = new Map<string, SimFile>();

  register(path: string, file: SimFile): void {
    this.files.set(path, file);
  }

  /** Registered paths, sorted. */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }

  /** pread(2). */
  *pread(t: SimThread, path: string, pos: number, count: number): Gen<Uint8Array | number> {
    const f = this.files.get(path);
    if (f === undefined) return -ENOENT;
    if (f.read === undefined || !(f.mode & 0o444)) return -EACCES;
    if (pos < 0 || count < 0) return -EINVAL;
    t.advanceAs(CAT.syscall, t.engine.profile.syscallNs);
    return yield* call(f.read(t, pos, count));
  }

  /** pwrite(2). */
  *pwrite(t: SimThread, path: string, pos: number, data: Uint8Array): Gen<number> {
    const f = this.files.get(path);
    if (f === undefined) return -ENOENT;
    if (f.write === undefined || !(f.mode & 0o222)) return -EACCES;
    if (pos < 0) return -EINVAL;
    t.advanceAs(CAT.syscall, t.engine.profile.syscallNs);
    return yield* call(f.write(t, pos, data));
  }
}

/** Reads the little-endian u64 at `off` of `b` as [low 32 bits, high 32 bits]. */
export function u64Words(b: Uint8Array, off = 0): [number, number] {
  const lo = (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
  const hi = (b[off + 4] | (b[off + 5] << 8) | (b[off + 6] << 16) | (b[off + 7] << 24)) >>> 0;
  return [lo, hi];
}

/** Writes a u64 given as two 32-bit words, little-endian. */
export function putU64Words(b: Uint8Array, off: number, lo: number, hi: number): void {
  b[off] = lo & 0xff;
  b[off + 1] = (lo >>> 8) & 0xff;
  b[off + 2] = (lo >>> 16) & 0xff;
  b[off + 3] = lo >>> 24;
  b[off + 4] = hi & 0xff;
  b[off + 5] = (hi >>> 8) & 0xff;
  b[off + 6] = (hi >>> 16) & 0xff;
  b[off + 7] = hi >>> 24;
}
