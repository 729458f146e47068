/** Models lib/cmdline.c: memparse. */
import { at } from './cstring.ts';
import { type Strto, simpleStrtoull } from './simple-strtox.ts';

/** K M G T P E (and lower case) and how many 10-bit shifts each applies. */
const SUFFIXES = new Map(
  [...'KMGTPE'].flatMap((c, k) => [
    [c.charCodeAt(0), k + 1],
    [c.toLowerCase().charCodeAt(0), k + 1],
  ]),
);

/**
 * memparse (lib/cmdline.c): simple_strtoull with base auto-detection, then an optional K M G T P E
 * suffix (either case) shifting the value left by 10 per step. Everything wraps modulo 2^64 as in
 * C: "16E" is 0, and no digits at all still parse as 0 (with the suffix consumed, if any).
 */
export function memparse(b: Uint8Array, i = 0): Strto {
  const r = simpleStrtoull(b, i, 0);
  const shift = SUFFIXES.get(at(b, r.end));
  if (shift === undefined) return r;
  return { value: BigInt.asUintN(64, r.value << BigInt(10 * shift)), end: r.end + 1 };
}
