import { cBuf } from './cstring.ts';
import { E2BIG } from './errno.ts';

/**
 * The size rules that fs/kernfs/file.c, fs/sysfs/file.c and kernel/cgroup/cgroup.c apply before a
 * file's own handler sees a write or read, and the NUL-terminated kernel buffer it receives.
 */

/** PAGE_SIZE. */
export const PAGE_SIZE = 4096;

/**
 * kernfs_fop_write_iter: a file with an atomic write length (cgroup files: PAGE_SIZE) refuses longer
 * writes with -E2BIG; any other is cut to PAGE_SIZE. Returns the kernel's NUL-terminated copy
 * (its `length - 1` is the count the handler gets) or a negative errno.
 */
export function kernfsWriteBuf(data: Uint8Array, atomicWriteLen = 0): Uint8Array | number {
  if (atomicWriteLen > 0 && data.length > atomicWriteLen) return -E2BIG;
  return cBuf(data.subarray(0, Math.min(data.length, PAGE_SIZE)));
}

/** kernfs_file_read_iter: a read of a non-seq_file kernfs file (a sysfs binary file) asks for at most PAGE_SIZE. */
export function kernfsReadCount(count: number): number {
  return Math.min(count, PAGE_SIZE);
}

/**
 * A sysfs text attribute's write (kernfs_fop_write_iter → sysfs_kf_write): cut to PAGE_SIZE; an
 * empty write returns 0 without calling `store`, which gets the NUL-terminated buffer and count.
 */
export function sysfsKfWrite(data: Uint8Array, store: (buf: Uint8Array, count: number) => number): number {
  const buf = kernfsWriteBuf(data) as Uint8Array;
  const count = buf.length - 1;
  return count === 0 ? 0 : store(buf, count);
}

/** The slice [pos, pos + count) of a shown text (a seq_file read). */
export function seqRead(text: string, pos: number, count: number): Uint8Array {
  const b = new TextEncoder().encode(text);
  return b.subarray(Math.min(pos, b.length), Math.min(pos + count, b.length));
}
