/**
 * Models no kernel file: checks that references/micro-line-contention.yaml and
 * references/micro-page-fault.yaml parse into the shape docs/micro-references.md describes, so the
 * future `mmulab micro` loaders can rely on it, and that every row cites a source the file defines.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const REFERENCES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'references');

function load(name: string): unknown {
  return parseYaml(readFileSync(join(REFERENCES, name), 'utf8'));
}

const source = z.object({ citation: z.string(), where: z.string(), read: z.string() });

const lineContention = z.object({
  kind: z.literal('micro-line-contention'),
  benchmark: z.object({ operation: z.string(), counted: z.string(), placement: z.string() }),
  rows: z.array(
    z.object({
      threads: z.number().int().min(2),
      placement: z.enum(['same-socket', 'cross-socket', 'smt']),
      value: z.number().positive(),
      unit: z.literal('ns per hand-off'),
      machine: z.string(),
      src: z.string(),
    }),
  ),
  machines: z.record(z.string(), z.object({ description: z.string() })),
  sources: z.record(z.string(), source),
});

const pageFault = z.object({
  kind: z.literal('micro-page-fault'),
  benchmark: z.object({
    loop: z.string(),
    memsizeBytes: z.literal(128 << 20),
    pagesPerMapping: z.literal((128 << 20) / 4096),
    counted: z.string(),
  }),
  rows: z.array(
    z.object({
      test: z.enum(['page_fault1', 'page_fault2', 'page_fault3']),
      mode: z.enum(['thread', 'process']),
      threads: z.number().int().min(1),
      value: z.number().int().positive(),
      unit: z.literal('pages/s total'),
      perTaskOps: z.number().int().positive().nullable(),
      thp: z.boolean(),
      src: z.string(),
    }),
  ),
  sources: z.record(z.string(), source.extend({ machine: z.string(), kernel: z.string() })),
});

describe('references/micro-line-contention.yaml', () => {
  const ref = lineContention.parse(load('micro-line-contention.yaml'));

  it('gives same-socket, cross-socket and SMT hand-offs for four two-socket Xeons', () => {
    expect(ref.rows).toHaveLength(12);
    const icx = ref.rows.filter((r) => r.machine === 'icx-8375c').map((r) => [r.placement, r.value]);
    expect(icx).toEqual([
      ['same-socket', 51],
      ['cross-socket', 108],
      ['smt', 8.1],
    ]);
  });

  it('names a defined machine and source in every row', () => {
    for (const r of ref.rows) {
      expect(ref.machines[r.machine], r.machine).toBeDefined();
      expect(ref.sources[r.src], r.src).toBeDefined();
    }
  });
});

describe('references/micro-page-fault.yaml', () => {
  const ref = pageFault.parse(load('micro-page-fault.yaml'));

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

  it('marks the Sapphire Rapids rows as THP-backed and cites a defined source in every row', () => {
    expect(ref.rows.filter((r) => r.src === 'lkp2024spr').every((r) => r.thp)).toBe(true);
    for (const r of ref.rows) expect(ref.sources[r.src], r.src).toBeDefined();
  });
});
