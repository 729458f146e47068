/**
 * Models no kernel file: checks that references/micro-line-contention.yaml,
 * references/micro-page-fault.yaml and references/micro-pft.yaml parse into the shape docs/micro-references.md describes
 * (micro/references.ts), and that every row cites a source and a machine the file defines.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadLineContentionReference,
  loadPageFaultReference,
  loadPftReference,
  REFERENCES_DIR,
} from './micro/references.ts';

describe('references/micro-line-contention.yaml', () => {
  const ref = loadLineContentionReference();

  it('gives hand-offs for five two-socket Xeons, Sapphire Rapids first, and two laptop parts at 2-4 threads', () => {
    expect(ref.rows).toHaveLength(20);
    const spr = ref.rows.filter((r) => r.machine === 'spr-2s').map((r) => [r.placement, r.value, r.src]);
    expect(spr).toEqual([
      ['same-socket', 59, 'chipsandcheese2023'],
      ['cross-socket', 138, 'chipsandcheese2023'],
    ]);
    const icx = ref.rows.filter((r) => r.machine === 'icx-8375c').map((r) => [r.placement, r.value]);
    expect(icx).toEqual([
      ['same-socket', 51],
      ['cross-socket', 108],
      ['smt', 8.1],
    ]);
    const skl = ref.rows.filter((r) => r.machine === 'skl-6700hq').map((r) => [r.threads, r.value, r.unit]);
    expect(skl).toEqual([
      [2, 44.1, 'ns per op per thread'],
      [3, 70.0, 'ns per op per thread'],
      [4, 96.4, 'ns per op per thread'],
    ]);
    const icl = ref.rows.filter((r) => r.machine === 'icl-1035g4').map((r) => [r.threads, r.value]);
    expect(icl).toEqual([
      [2, 32.8],
      [3, 49.3],
      [4, 69.5],
    ]);
    expect(ref.sources.downs2020.benchmark).toMatch(/lock xadd/);
  });

  it('names a defined machine and source in every row', () => {
    for (const r of ref.rows) {
      expect(ref.machines[r.machine], r.machine).toBeDefined();
      expect(ref.sources[r.src], r.src).toBeDefined();
    }
  });
});

describe('references/micro-page-fault.yaml', () => {
  const ref = loadPageFaultReference();

  it('holds the 4 KiB page_fault1 thread rows the simulator reproduces', () => {
    const target = ref.rows.filter((r) => r.test === 'page_fault1' && r.mode === 'thread' && !r.thp);
    expect(target.map((r) => [r.threads, r.value, r.perTaskOps])).toEqual([
      [16, 2332446, 145777],
      [24, 2138067, 89085],
      [48, 1776494, 37010],
    ]);
  });

  it('keeps per-task ops at the total over the task count where the source gives both', () => {
    // LKP averages each metric over its runs on its own, so the two can differ in the last digits.
    for (const r of ref.rows.filter((x) => x.perTaskOps !== null)) {
      const perTask = r.perTaskOps ?? 0;
      expect(Math.abs(r.value / r.threads / perTask - 1), `${r.test} ${r.mode} ${r.threads}`).toBeLessThan(
        1e-4,
      );
    }
  });

  it('marks the Sapphire Rapids rows as THP-backed and names a defined machine and source in every row', () => {
    expect(ref.rows.filter((r) => r.src === 'lkp2024spr').every((r) => r.thp)).toBe(true);
    for (const r of ref.rows) {
      expect(ref.machines[r.machine], r.machine).toBeDefined();
      expect(ref.sources[r.src], r.src).toBeDefined();
    }
  });

  it('refuses a file whose row names a machine it does not define, in one line', () => {
    const text = readFileSync(join(REFERENCES_DIR, 'micro-page-fault.yaml'), 'utf8');
    const bad = join(mkdtempSync(join(tmpdir(), 'mmulab-ref-')), 'pf.yaml');
    writeFileSync(bad, text.replace('machine: skx-2s-112, src', 'machine: skx-nope, src'));
    expect(() => loadPageFaultReference(bad)).toThrow(
      /^reference: .*pf\.yaml.*a row names a machine or source the file does not define$/,
    );
  });
});

describe('references/micro-pft.yaml', () => {
  const ref = loadPftReference();

  it("holds the Skylake-SP 5.12 thread rows, 1 to 112 threads, each the mean of the source's 30 runs", () => {
    expect(ref.rows.map((r) => [r.threads, r.value, r.kernel, r.machine, r.src])).toEqual(
      [
        [1, 573625],
        [4, 2062801],
        [7, 3169454],
        [12, 4703127],
        [21, 4569292],
        [30, 4150170],
        [48, 3820861],
        [79, 3772895],
        [110, 3660475],
        [112, 3627511],
      ].map(([n, v]) => [n, v, '5.12', 'skx-2s-112', 'rasmussen2021']),
    );
    expect(ref.sources.rasmussen2021.citation).toMatch(/20210628221454\.651942-1-axelrasmussen@google\.com/);
  });

  it('refuses a row with a kernel pft does not model, in one line', () => {
    const text = readFileSync(join(REFERENCES_DIR, 'micro-pft.yaml'), 'utf8');
    const bad = join(mkdtempSync(join(tmpdir(), 'mmulab-ref-')), 'pft.yaml');
    writeFileSync(
      bad,
      text.replace(
        "threads: 4, value: 2062801, unit: faults/s total, kernel: '5.12'",
        "threads: 4, value: 2062801, unit: faults/s total, kernel: '5.13'",
      ),
    );
    expect(() => loadPftReference(bad)).toThrow(/^reference: .*pft\.yaml/);
  });
});
