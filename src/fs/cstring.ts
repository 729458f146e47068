import { isspace } from './ctype.ts';

/**
 * NUL-terminated byte strings as the kernel's string helpers see them (lib/string.c,
 * lib/string_helpers.c): a buffer is read up to its first NUL byte, and past its end reads as NUL.
 */

/** A kernel copy of user bytes: the bytes with a terminating NUL (kernfs: buf[len] = '\0'). */
export function cBuf(data: Uint8Array): Uint8Array {
  const b = new Uint8Array(data.length + 1);
  b.set(data);
  return b;
}

/** The byte at `i`, or NUL past the end. */
export function at(b: Uint8Array, i: number): number {
  return i < b.length ? b[i] : 0;
}

/** strlen from `from`. */
export function strlen(b: Uint8Array, from = 0): number {
  let i = from;
  while (at(b, i) !== 0) i++;
  return i - from;
}

/** skip_spaces: the index of the first non-space byte at or after `i`. */
export function skipSpaces(b: Uint8Array, i: number): number {
  while (isspace(at(b, i))) i++;
  return i;
}

/**
 * strstrip: the [start, end) range of the string at `from` without leading and trailing
 * whitespace (the kernel writes a NUL at `end`).
 */
export function strstrip(b: Uint8Array, from = 0): [number, number] {
  let end = from + strlen(b, from);
  while (end > from && isspace(b[end - 1])) end--;
  const start = skipSpaces(b, from);
  return [Math.min(start, end), end];
}

/**
 * strsep over [from, end): the tokens between any of the `delims` bytes, as [start, end) ranges.
 * The string ends at `end` or its first NUL, whichever comes first.
 */
export function strsepAll(b: Uint8Array, delims: string, from = 0, end = b.length): Array<[number, number]> {
  const stop = Math.min(end, from + strlen(b, from));
  const set = new Set([...delims].map((c) => c.charCodeAt(0)));
  const out: Array<[number, number]> = [];
  let start = from;
  for (let i = from; i < stop; i++) {
    if (!set.has(b[i])) continue;
    out.push([start, i]);
    start = i + 1;
  }
  out.push([start, stop]);
  return out;
}

/** The bytes of [start, end) as a NUL-terminated copy. */
export function substr(b: Uint8Array, start: number, end: number): Uint8Array {
  return cBuf(b.subarray(start, end));
}

/** Latin-1 bytes of an ASCII string (tests and formats). */
export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}
