/** Models include/uapi/asm-generic/errno-base.h: the errno values the simulated kernel files return. */
/** Kernel errno values, returned negated as the kernel does. */
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const EFBIG = 27;
export const ERANGE = 34;

const NAMES: Record<number, string> = {
  [ENOENT]: 'ENOENT',
  [EINTR]: 'EINTR',
  [EIO]: 'EIO',
  [ENXIO]: 'ENXIO',
  [E2BIG]: 'E2BIG',
  [EAGAIN]: 'EAGAIN',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
  [EFBIG]: 'EFBIG',
  [ERANGE]: 'ERANGE',
};

/** Name of a (positive or negative) errno, e.g. "EINVAL". */
export function errnoName(err: number): string {
  return NAMES[Math.abs(err)] ?? `errno ${Math.abs(err)}`;
}
