import { at } from './cstring.ts';
import { isxdigit, lowerBit } from './ctype.ts';
import { EINVAL, ERANGE } from './errno.ts';

/**
 * Integer parsing of lib/kstrtox.c: `_parse_integer_fixup_radix`, `_parse_integer_limit` and the
 * strict kstrto* family (whole string, one optional trailing newline, -ERANGE on overflow).
 * Values are bigints so that u64 arithmetic wraps exactly as in C.
 */

/** 2^64: unsigned long long arithmetic is modulo this. */
export const U64 = 1n << 64n;
/** ULLONG_MAX. */
export const ULLONG_MAX = U64 - 1n;
/** UINT_MAX. */
export const UINT_MAX = 0xffffffffn;

/** What `_parse_integer_limit` read. */
export interface ParsedInteger {
  /** The value modulo 2^64 (C's wrapped result). */
  value: bigint;
  /** Digits consumed. */
  chars: number;
  /** KSTRTOX_OVERFLOW: the digits exceeded ULLONG_MAX. */
  overflow: boolean;
}

/**
 * _parse_integer_fixup_radix: base 0 becomes 16 for "0x" followed by a hex digit, 8 for a leading
 * "0", else 10; with base 16 a "0x" prefix is skipped. Returns [index after prefix, base].
 */
export function parseIntegerFixupRadix(b: Uint8Array, i: number, base: number): [number, number] {
  if (base === 0) {
    if (at(b, i) === 48) base = lowerBit(at(b, i + 1)) === 120 && isxdigit(at(b, i + 2)) ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && at(b, i) === 48 && lowerBit(at(b, i + 1)) === 120) i += 2;
  return [i, base];
}

/** _parse_integer_limit: digits of `base` at `i`, at most `maxChars` of them. */
export function parseIntegerLimit(
  b: Uint8Array,
  i: number,
  base: number,
  maxChars = Infinity,
): ParsedInteger {
  let res = 0n;
  let chars = 0;
  let overflow = false;
  const bb = BigInt(base);
  for (; chars < maxChars; chars++) {
    const c = at(b, i + chars);
    const lc = lowerBit(c);
    let val: number;
    if (c >= 48 && c <= 57) val = c - 48;
    else if (lc >= 97 && lc <= 102) val = lc - 97 + 10;
    else break;
    if (val >= base) break;
    const next = res * bb + BigInt(val);
    if (next > ULLONG_MAX) overflow = true;
    res = next % U64;
  }
  return { value: res, chars, overflow };
}

/** _kstrtoull: the whole string from `i` (one trailing "\n" allowed) as a u64, or a negative errno. */
function kstrtoullAt(b: Uint8Array, i: number, base: number): bigint | number {
  const [start, radix] = parseIntegerFixupRadix(b, i, base);
  const p = parseIntegerLimit(b, start, radix);
  if (p.overflow) return -ERANGE;
  if (p.chars === 0) return -EINVAL;
  let end = start + p.chars;
  if (at(b, end) === 10) end++;
  return at(b, end) === 0 ? p.value : -EINVAL;
}

/** kstrtoull: an optional '+', then _kstrtoull. Returns the value or a negative errno (number). */
export function kstrtoull(b: Uint8Array, base = 0, i = 0): bigint | number {
  return kstrtoullAt(b, at(b, i) === 43 ? i + 1 : i, base);
}

/** kstrtoll: an optional sign, then _kstrtoull, range-checked for long long. */
export function kstrtoll(b: Uint8Array, base = 0, i = 0): bigint | number {
  if (at(b, i) === 45) {
    const v = kstrtoullAt(b, i + 1, base);
    if (typeof v === 'number') return v;
    return v > 1n << 63n ? -ERANGE : -v;
  }
  const v = kstrtoull(b, base, i);
  if (typeof v === 'number') return v;
  return v >= 1n << 63n ? -ERANGE : v;
}

/** kstrtouint: kstrtoull limited to 32 bits. Returns the value or a negative errno. */
export function kstrtouint(b: Uint8Array, base = 0, i = 0): number {
  const v = kstrtoull(b, base, i);
  if (typeof v === 'number') return v;
  return v > UINT_MAX ? -ERANGE : Number(v);
}

/** kstrtoint: kstrtoll limited to int. Returns { value } or a negative errno. */
export function kstrtoint(b: Uint8Array, base = 0, i = 0): { value: number } | number {
  const v = kstrtoll(b, base, i);
  if (typeof v === 'number') return v;
  return v < -(1n << 31n) || v >= 1n << 31n ? -ERANGE : { value: Number(v) };
}
