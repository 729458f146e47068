/** Kernel errno values, returned negated as the kernel does. */
export const ENOENT = 2;
export const ENXIO = 6;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;

const NAMES: Record<number, string> = {
  [ENOENT]: 'ENOENT',
  [ENXIO]: 'ENXIO',
  [EAGAIN]: 'EAGAIN',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
};

/** Name of a (positive or negative) errno, e.g. "EINVAL". */
export function errnoName(err: number): string {
  return NAMES[Math.abs(err)] ?? `errno ${Math.abs(err)}`;
}
