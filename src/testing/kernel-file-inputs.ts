/**
 * Models no kernel file: test support.
 * Fuzz inputs for the simulated kernel files: writes assembled from pieces that reach every rule
 * (numbers of every radix and width around 2^31, 2^32 and 2^64, suffixes, separators, every
 * kernel whitespace byte, NUL) mixed with raw bytes, and sizes around PAGE_SIZE.
 */

const NUMS = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '60',
  '200',
  '201',
  '202',
  '07',
  '010',
  '08',
  '0x10',
  '0X1f',
  '0x',
  '0xg',
  '+5',
  '-1',
  '-',
  '255',
  '65537',
  '2147483647',
  '2147483648',
  '4294967295',
  '4294967296',
  '4294967298',
  '18446744073709551615',
  '18446744073709551616',
  '18446744073709551618',
  '99999999999999999999999',
  '0000000',
  '00001',
  '1234',
  '12345',
  'max',
  'maxx',
  'ma',
];
const WS = [' ', ' ', ' ', '  ', '\t', '\r', '\v', '\f', '\xa0', ''];

/** Pieces of lru_gen commands. */
export const LRU_GEN_PIECES = ['+', '-', '*', ...NUMS, ...NUMS, ...WS, ...WS, ',', ';', '\n', '\0', 'x'];
/** Pieces of sysfs numbers (enabled, min_ttl_ms). */
export const SYSFS_PIECES = [...NUMS, 'y', 'Y', 'n', 'N', 'yes', 'no', '\n', '\n', '\0', ...WS];
/** Pieces of memory.reclaim writes. */
export const RECLAIM_PIECES = [
  ...NUMS,
  'k',
  'K',
  'M',
  'g',
  'T',
  'p',
  'E',
  'e',
  'x',
  'swappiness=',
  'swappiness=',
  'swappiness=max',
  'swappiness',
  '=',
  ...WS,
  ...WS,
  '\n',
  '\0',
];

/** A deterministic PRNG (mulberry32) in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Latin-1 bytes of a string. */
export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/** One text input: 0-12 pieces, sometimes a random byte or a run past PAGE_SIZE. */
export function pieceInput(rnd: () => number, pieces: string[]): Uint8Array {
  let s = '';
  const n = Math.floor(rnd() * 13);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.05) s += String.fromCharCode(Math.floor(rnd() * 256));
    else s += pieces[Math.floor(rnd() * pieces.length)];
  }
  if (rnd() < 0.02)
    s += ' '.repeat(4090 + Math.floor(rnd() * 12) - s.length) + pieces[Math.floor(rnd() * pieces.length)];
  return latin1Bytes(s);
}

/** Small numbers that name existing memcgs, nodes and generations. */
const SMALL = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '1',
  '2',
  '0',
  '1',
  '3',
  '5',
  '60',
  '201',
  'max',
  '4294967297',
  '18446744073709551615',
  '0x1',
  '01',
  '+1',
];

/** One lru_gen write of 1-3 commands whose fields are mostly valid: reaches run_cmd and below. */
export function lruGenCommandInput(rnd: () => number): Uint8Array {
  const pick = (xs: string[]) => xs[Math.floor(rnd() * xs.length)];
  const ws = () => (rnd() < 0.8 ? ' ' : pick(WS));
  const cmds: string[] = [];
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const fields = 3 + Math.floor(rnd() * 4);
    let c = pick(['+', '-', '+', '-', '*']);
    for (let f = 0; f < fields; f++) c += ws() + pick(f < 3 ? SMALL.slice(0, 12) : SMALL);
    cmds.push(c + (rnd() < 0.2 ? pick(WS) : ''));
  }
  return latin1Bytes(cmds.join(pick([',', ';', '\n', ' ;', ',\0'])));
}

/** One page_idle input: [pos, bytes] with pos and length near multiples of 8 and near PAGE_SIZE. */
export function bitmapInput(rnd: () => number, maxPfn: number): [number, Uint8Array] {
  const words = maxPfn / 64;
  const pos = rnd() < 0.1 ? Math.floor(rnd() * (words + 4) * 8) : Math.floor(rnd() * (words + 2)) * 8;
  const lens = [0, 8, 16, 64, 4088, 4096, 4104, 8192];
  const len = rnd() < 0.7 ? lens[Math.floor(rnd() * lens.length)] : Math.floor(rnd() * 200);
  const data = new Uint8Array(len);
  for (let i = 0; i < len; i++) data[i] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 256);
  return [pos, data];
}
