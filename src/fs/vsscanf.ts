import { at, skipSpaces } from './cstring.ts';
import { isdigit, isspace, isxdigit, lowerBit } from './ctype.ts';
import { simpleStrntoll, simpleStrntoull } from './simple-strtox.ts';

/**
 * vsscanf (lib/vsprintf.c) on a NUL-terminated byte buffer: the kernel's scanner, with its
 * differences from C's: whitespace in the format matches any run of input whitespace (0xA0
 * included), %u takes no sign, numbers wrap instead of failing (a %u keeps the low 32 bits of the
 * value modulo 2^64), field widths count the radix prefix, and the input ends at its first NUL.
 * Supported conversions: %c %s %d %i %u %o %x %X %n %% with widths and the hh h l ll z qualifiers.
 */

/** One stored argument: a number (bigint, truncated to the qualifier's type), text bytes, or %n. */
export type ScanArg = bigint | Uint8Array | number;

/** What vsscanf returned (`num`) and stored (`args`, in format order; unset ones undefined). */
export interface ScanResult {
  num: number;
  args: Array<ScanArg | undefined>;
}

const SHRT_MAX = 32767;
const INT_MAX = 2147483647;

/** The value as stored through the qualifier's C type (hh: 8 bits, h: 16, none: 32, l ll z: 64). */
function storeAs(v: bigint, qualifier: string, signed: boolean): bigint {
  const bits = qualifier === 'H' ? 8 : qualifier === 'h' ? 16 : qualifier === '' ? 32 : 64;
  return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

/** vsscanf(buf, fmt): scans `buf` (read up to its first NUL) from index `from`. */
export function vsscanf(buf: Uint8Array, fmt: string, from = 0): ScanResult {
  const f = fmt;
  const args: Array<ScanArg | undefined> = [];
  let str = from;
  let p = 0;
  let num = 0;
  const fc = (i: number) => (i < f.length ? f.charCodeAt(i) : 0);
  while (fc(p)) {
    if (isspace(fc(p))) {
      p++;
      while (isspace(fc(p))) p++;
      str = skipSpaces(buf, str);
    }
    if (fc(p) !== 37 && fc(p)) {
      if (fc(p++) !== at(buf, str++)) break;
      continue;
    }
    if (!fc(p)) break;
    p++;
    if (fc(p) === 42) {
      // '*': skip this conversion; both strings advance to the next whitespace.
      if (!at(buf, str)) break;
      while (!isspace(fc(p)) && fc(p) !== 37 && fc(p)) p++;
      while (!isspace(at(buf, str)) && at(buf, str)) str++;
      continue;
    }
    let width = -1;
    if (isdigit(fc(p))) {
      width = 0;
      while (isdigit(fc(p))) width = width * 10 + fc(p++) - 48;
      if (width <= 0) break;
    }
    let qualifier = '';
    if (f[p] === 'h' || lowerBit(fc(p)) === 108 || f[p] === 'z') {
      qualifier = f[p++];
      if (qualifier === f[p] && (qualifier === 'h' || qualifier === 'l')) {
        qualifier = qualifier === 'h' ? 'H' : 'L';
        p++;
      }
    }
    if (!fc(p)) break;
    if (f[p] === 'n') {
      args.push(str - from);
      p++;
      continue;
    }
    if (!at(buf, str)) break;
    let base = 10;
    let signed = false;
    const conv = f[p++];
    if (conv === 'c') {
      const n = width === -1 ? 1 : width;
      const start = str;
      do str++;
      while (str - start < n && at(buf, str));
      args.push(buf.slice(start, str));
      num++;
      continue;
    }
    if (conv === 's') {
      let n = width === -1 ? SHRT_MAX : width;
      str = skipSpaces(buf, str);
      const start = str;
      while (at(buf, str) && !isspace(at(buf, str)) && n-- > 0) str++;
      args.push(buf.slice(start, str));
      num++;
      continue;
    }
    if (conv === 'o') base = 8;
    else if (conv === 'x' || conv === 'X') base = 16;
    else if (conv === 'i' || conv === 'd') {
      base = conv === 'i' ? 0 : 10;
      signed = true;
    } else if (conv === '%') {
      if (at(buf, str++) !== 37) return { num, args };
      continue;
    } else if (conv !== 'u') return { num, args };
    str = skipSpaces(buf, str);
    let digit = at(buf, str);
    if (signed && digit === 45) {
      if (width === 1) break;
      digit = at(buf, str + 1);
    }
    if (
      !digit ||
      (base === 16 && !isxdigit(digit)) ||
      (base === 10 && !isdigit(digit)) ||
      (base === 8 && (!isdigit(digit) || digit > 55)) ||
      (base === 0 && !isdigit(digit))
    )
      break;
    const max = width >= 0 ? width : INT_MAX;
    const r = signed ? simpleStrntoll(buf, str, base, max) : simpleStrntoull(buf, str, base, max);
    args.push(storeAs(r.value, qualifier, signed));
    num++;
    str = r.end;
  }
  return { num, args };
}
