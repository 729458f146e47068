import { at, strlen, substr } from './cstring.ts';
import { isdigit } from './ctype.ts';
import { EINVAL, ERANGE } from './errno.ts';
import { simpleStrtol, simpleStrtoull } from './simple-strtox.ts';

/**
 * Option-token matching of lib/parser.c: match_token over a table of patterns with %d %u %o %x %s
 * arguments (match_one), and the argument parser match_int.
 */

/** A matched argument: the [from, to) bytes of the option string. */
export type Substring = [number, number];

/** One table row: a token and its pattern (null: the catch-all last row). */
export interface MatchRow<T> {
  token: T;
  pattern: string | null;
}

/** MAX_OPT_ARGS. */
const MAX_OPT_ARGS = 3;

/** match_one: whether the NUL-terminated option at `s` matches `p`; fills `args`. */
function matchOne(b: Uint8Array, s: number, p: string | null, args: Substring[]): boolean {
  if (p === null) return true;
  let pi = 0;
  for (;;) {
    const meta = p.indexOf('%', pi);
    if (meta < 0) return strcmpAt(b, s, p.slice(pi));
    for (let k = pi; k < meta; k++) if (at(b, s + k - pi) !== p.charCodeAt(k)) return false;
    s += meta - pi;
    pi = meta + 1;
    let len = -1;
    if (isdigit(p.charCodeAt(pi))) {
      len = 0;
      while (isdigit(p.charCodeAt(pi))) len = len * 10 + p.charCodeAt(pi++) - 48;
    } else if (p[pi] === '%') {
      if (at(b, s++) !== 37) return false;
      pi++;
      continue;
    }
    if (args.length >= MAX_OPT_ARGS) return false;
    const from = s;
    let to: number;
    const conv = p[pi++];
    if (conv === 's') {
      const n = strlen(b, s);
      if (n === 0) return false;
      to = s + (len === -1 || len > n ? n : len);
    } else if (conv === 'd' || conv === 'u' || conv === 'o' || conv === 'x') {
      const base = conv === 'o' ? 8 : conv === 'x' ? 16 : 0;
      to = (conv === 'd' ? simpleStrtol(b, s, base) : simpleStrtoull(b, s, base)).end;
      if (to === from) return false;
    } else return false;
    args.push([from, to]);
    s = to;
  }
}

/** strcmp of the NUL-terminated string at `s` with `lit`: equal? */
function strcmpAt(b: Uint8Array, s: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) if (at(b, s + k) !== lit.charCodeAt(k)) return false;
  return at(b, s + lit.length) === 0;
}

/** match_token: the token of the first row whose pattern matches, with its arguments. */
export function matchToken<T>(
  b: Uint8Array,
  s: number,
  table: MatchRow<T>[],
): { token: T; args: Substring[] } {
  for (const row of table) {
    const args: Substring[] = [];
    if (matchOne(b, s, row.pattern, args)) return { token: row.token, args };
  }
  throw new Error('match_token: the table needs a catch-all row');
}

/** match_int (match_number base 0): the argument as an int, or a negative errno. */
export function matchInt(b: Uint8Array, arg: Substring): { value: number } | number {
  const s = substr(b, arg[0], arg[1]);
  const r = simpleStrtol(s, 0, 0);
  if (r.end === 0) return -EINVAL;
  if (r.value < -(1n << 31n) || r.value >= 1n << 31n) return -ERANGE;
  return { value: Number(r.value) };
}
