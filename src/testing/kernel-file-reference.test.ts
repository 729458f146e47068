import { describe, expect, it } from 'vitest';
import { fuzzTargets } from './kernel-file-fuzz.ts';
import { latin1Bytes as b } from './kernel-file-inputs.ts';
import {
  type LruGenEnv,
  refEnabledWrite,
  refLruGenWrite,
  refMemoryReclaimWrite,
  refMinTtlWrite,
  refPageIdleRead,
  refPageIdleWrite,
} from './kernel-file-reference.ts';

// The examples of issue 17 item 9, each with what the kernel does, checked on the reference and
// then on the simulated file (through the fuzz target, which compares the two).
const env: LruGenEnv = {
  memcgIds: [1, 2],
  nodeHasMemory: [true, false],
  seqs: (id) => ({ maxSeq: 3, minSeq: id === 2 ? [2, 0] : [0, 0] }),
  defaultSwappiness: 0,
};
const targets = Object.fromEntries(fuzzTargets().map((t) => [t.name.split('/').pop(), t]));

describe('the reference of the kernel file rules, on the examples of issue 17', () => {
  it('lru_gen: empty, max, CR/LF, tabs, no space, NUL, 32-bit wrap, the 4-byte swappiness', () => {
    const cases: Array<[string, number, string[]]> = [
      ['', -22, []],
      ['\n', -22, []],
      ['+ 1 0 3 max', 11, ['age 1 0 201 true']],
      ['+ 1 0 3\r\n', 9, ['age 1 0 0 true']],
      ['+\t1\t0\t3', 7, ['age 1 0 0 true']],
      ['+1 0 3', 6, ['age 1 0 0 true']],
      ['+ 1 0 3\0garbage', 15, ['age 1 0 0 true']],
      ['+ 4294967297 0 3', 16, ['age 1 0 0 true']],
      ['+ 1 0 3 0000000 0', -22, []],
      ['+ 1 0 3 00001', 13, ['age 1 0 0 true']],
      ['+ 1 1 3', -22, []], // node 1 has no memory
      ['+ 1 0 4', -22, []], // seq > max_seq
      ['+ 1 0 3 1', -17, ['age 1 0 1 true']], // the stub's aging fails at swappiness 1
      ['- 2 0 1 201', 11, []], // seq 1 < anon min_seq 2: nothing to evict
      ['- 1 0 1 201 0', 13, []], // nr_to_reclaim 0
      ['- 1 0 1 max 100', 15, ['evict 1 0 201 100']],
      ['- 1 0 18446744073709551615', 26, ['evict 1 0 0 4096']], // seq + 2 wraps to 1 <= max_seq
    ];
    for (const [text, ret, calls] of cases) {
      expect(refLruGenWrite(b(text), env), text).toEqual({ ret, calls });
      expect(targets.lru_gen.check(b(text)), text).toBe(true);
    }
  });

  it('lru_gen/enabled and min_ttl_ms: empty is 0, +5, cut to a page, 4294967295 reads back 4294967294', () => {
    const long = `${'0'.repeat(4095)}5x`; // cut to 4096 bytes: octal 5
    expect(refEnabledWrite(b(''))).toEqual({ ret: 0, caps: null });
    expect(refEnabledWrite(b('+5'))).toEqual({ ret: 2, caps: 5 });
    expect(refEnabledWrite(b(long))).toEqual({ ret: 4096, caps: 5 });
    expect(refEnabledWrite(b('Nope'))).toEqual({ ret: 4, caps: 0 });
    expect(refMinTtlWrite(b(''))).toEqual({ ret: 0, readBack: null });
    expect(refMinTtlWrite(b('4294967295'))).toEqual({ ret: 10, readBack: 4294967294 });
    expect(refMinTtlWrite(b('2147483648\n'))).toEqual({ ret: 11, readBack: 4294967294 });
    expect(refMinTtlWrite(b('4294967296'))).toEqual({ ret: -22, readBack: null });
    for (const text of ['', '+5', long, 'Nope'])
      expect(targets.enabled.check(b(text)), text.slice(0, 8)).toBe(true);
    for (const text of ['', '4294967295', '2147483648\n', '4294967296'])
      expect(targets.min_ttl_ms.check(b(text)), text).toBe(true);
  });

  it('page_idle/bitmap: zero count is 0, a page at most, the last partial word counted', () => {
    const e = { firstPfn: 0, maxPfn: 100, lru: new Set([1, 99]) };
    expect(refPageIdleWrite(e, 0, new Uint8Array(0))).toEqual({ ret: 0, marked: [] });
    expect(refPageIdleWrite(e, 0, new Uint8Array(16).fill(0xff))).toEqual({ ret: 16, marked: [1, 99] });
    expect(refPageIdleWrite(e, 16, new Uint8Array(8))).toEqual({ ret: -6, marked: [] });
    expect(refPageIdleRead(e, new Set([99]), 8, 4096)).toEqual(Uint8Array.from([0, 0, 0, 0, 8, 0, 0, 0]));
    const big = { firstPfn: 0, maxPfn: 1 << 20, lru: new Set<number>() };
    expect(refPageIdleWrite(big, 0, new Uint8Array(8192)).ret).toBe(4096);
    expect((refPageIdleRead(big, new Set(), 0, 8192) as Uint8Array).length).toBe(4096);
    for (const [pos, len] of [
      [0, 0],
      [0, 8192],
      [1016, 16],
      [0, 12],
    ])
      expect(targets.bitmap.check(new Uint8Array(len).fill(0xff), pos)).toBe(true);
  });

  it('memory.reclaim: k, 16E, over a page, hex and octal swappiness, tabs and newlines between options', () => {
    const cases: Array<[string, number, string[]]> = [
      ['k', 1, []],
      ['16E', 3, []],
      ['64K swappiness=0x10', 19, ['4 16']],
      ['64K swappiness=010', 18, ['4 8']],
      ['64K swappiness=-', 16, ['4 0']],
      ['64K\tswappiness=10\n', 18, ['4 10']],
      ['64K swappiness=10\tswappiness=20', -22, []],
      ['64K swappiness=10\nswappiness=20', -22, []],
      ['64K swappiness=201', -22, []],
      ['64Kswappiness=max', 17, ['4 201']],
      ['swappiness=5', -22, []],
      [`1M${' '.repeat(4095)}`, -7, []],
    ];
    for (const [text, ret, calls] of cases) {
      expect(refMemoryReclaimWrite(b(text)), text).toEqual({ ret, calls });
      expect(targets['memory.reclaim'].check(b(text)), text).toBe(true);
    }
  });
});
