import { at } from './cstring.ts';
import { parseIntegerFixupRadix, parseIntegerLimit, U64 } from './kstrtox.ts';

/**
 * The lenient integer parsers of lib/vsprintf.c (simple_strntoull, simple_strtoull, simple_strtoul,
 * simple_strtol, simple_strntoll): they stop at the first non-digit, never fail, and wrap on
 * overflow. Values are bigints modulo 2^64; `end` is the index after the last byte consumed.
 */

/** A lenient parse: the value (mod 2^64, or signed for the *ll variants) and where it stopped. */
export interface Strto {
  value: bigint;
  end: number;
}

/** simple_strntoull: at most `maxChars` bytes, the radix prefix included. */
export function simpleStrntoull(b: Uint8Array, i: number, base: number, maxChars = Infinity): Strto {
  const [cp, radix] = parseIntegerFixupRadix(b, i, base);
  const prefix = cp - i;
  if (prefix >= maxChars) return { value: 0n, end: i + maxChars };
  const p = parseIntegerLimit(b, cp, radix, maxChars - prefix);
  return { value: p.value, end: cp + p.chars };
}

/** simple_strtoull (and simple_strtoul: unsigned long is 64 bits). */
export function simpleStrtoull(b: Uint8Array, i: number, base: number): Strto {
  return simpleStrntoull(b, i, base);
}

/** Two's complement of a u64 as a signed 64-bit bigint. */
export function toS64(v: bigint): bigint {
  const u = ((v % U64) + U64) % U64;
  return u >= 1n << 63n ? u - U64 : u;
}

/** simple_strtol: a leading '-' negates simple_strtoul of the rest (long is 64 bits). */
export function simpleStrtol(b: Uint8Array, i: number, base: number): Strto {
  if (at(b, i) === 45) {
    const r = simpleStrtoull(b, i + 1, base);
    return { value: toS64(-r.value), end: r.end };
  }
  const r = simpleStrtoull(b, i, base);
  return { value: toS64(r.value), end: r.end };
}

/** simple_strntoll: as simple_strtol within `maxChars` bytes, the sign included. */
export function simpleStrntoll(b: Uint8Array, i: number, base: number, maxChars = Infinity): Strto {
  if (at(b, i) === 45 && maxChars > 0) {
    const r = simpleStrntoull(b, i + 1, base, maxChars - 1);
    return { value: toS64(-r.value), end: r.end };
  }
  const r = simpleStrntoull(b, i, base, maxChars);
  return { value: toS64(r.value), end: r.end };
}
