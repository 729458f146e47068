/** Models no kernel file: CLI argument parsers (whole numbers, sizes, lists) and how defaults print. */
import { InvalidArgumentError, Option } from 'commander';
import { parseSize } from './parse-size.ts';

/** A whole number >= `min`. */
export function intArg(name: string, min: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v)))
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return Number(v);
  };
}

/** A size in bytes: a whole number with an optional K, M, G or T suffix. */
export function sizeArg(v: string): number {
  const n = parseSize(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError(`invalid size '${v}' (a number with an optional K, M, G or T)`);
  return n;
}

/** Whole numbers >= 1, comma-separated. */
export function listArg(name: string): (v: string) => number[] {
  return (v) => {
    const xs = v.split(',').map((s) => s.trim());
    if (xs.some((x) => !/^\d+$/.test(x) || Number(x) < 1 || !Number.isSafeInteger(Number(x))))
      throw new InvalidArgumentError(`${name} takes whole numbers >= 1, comma-separated`);
    return xs.map(Number);
  };
}

/** A size as help prints its default: `1G`, `64M`, `4096`. */
export function sizeText(bytes: number): string {
  for (const [suffix, shift] of [
    ['T', 40],
    ['G', 30],
    ['M', 20],
    ['K', 10],
  ] as const)
    if (bytes >= 2 ** shift && bytes % 2 ** shift === 0) return `${bytes / 2 ** shift}${suffix}`;
  return String(bytes);
}

/** The help text of every command's `--profile` option. */
export const PROFILE_HELP = 'cost profile: a name (mmulab profiles) or a path to a .json file';

/** `-b, --bytes <size>`: guest memory per vCPU. */
export function bytesOption(description: string, bytes: number): Option {
  return new Option('-b, --bytes <size>', description).argParser(sizeArg).default(bytes, sizeText(bytes));
}

/** `--vcpus <list>`: vCPU counts, default seed 003's 1,2,4,8. */
export function vcpusListOption(description: string): Option {
  return new Option('--vcpus <list>', description)
    .argParser(listArg('--vcpus'))
    .default([1, 2, 4, 8], '1,2,4,8');
}
