/** Kernel errno values, returned negated as the kernel does. */
export const ENOENT = 2;
export const EINTR = 4;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EOPNOTSUPP = 95;

const NAMES: Record<number, string> = {
  [ENOENT]: 'ENOENT',
  [EINTR]: 'EINTR',
  [ENXIO]: 'ENXIO',
  [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EEXIST]: 'EEXIST',
  [ENODEV]: 'ENODEV',
  [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
};

/** Name of a (positive or negative) errno, e.g. "EINVAL". */
export function errnoName(err: number): string {
  return NAMES[Math.abs(err)] ?? `errno ${Math.abs(err)}`;
}
