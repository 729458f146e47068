// `--perfetto`: whole runs through the CLI, the file parsed back and checked.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTraceEvents } from '../testing/trace-event-check.ts';
import { main } from './main.ts';
import { parsePerfettoWindow } from './perfetto-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'mmulab-perfetto-'));

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const RUN = ['access-tracking', '-v', '2', '-b', '2M', '-l', '-p', '--host-memory', '5M', '--swap', '16M'];

describe('mmulab access-tracking --perfetto', () => {
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  const trace = join(dir, 'b.jsonl');
  const plain = run(...RUN, '--json');
  const first = run(...RUN, '--json', '--perfetto', a);
  const second = run(...RUN, '--json', '--perfetto', b, '--trace', trace);
  const text = readFileSync(a, 'utf8');

  it('does not change the results, and writes the same bytes for the same run (beside --trace)', () => {
    expect(first.code).toBe(0);
    expect(first.out).toBe(plain.out);
    expect(second.out).toBe(plain.out);
    expect(readFileSync(b, 'utf8')).toBe(text);
    expect(readFileSync(trace, 'utf8').split('\n').length).toBeGreaterThan(1000);
  });

  it('parses back: nested slices per thread, every begin ended, every thread named', () => {
    const { problems, events } = checkTraceEvents(text);
    expect(problems).toEqual([]);
    const names = new Set(events.map((e) => `${e.ph} ${e.name}`));
    for (const n of [
      'B EPT violation',
      'B handle_mm_fault',
      'B try_to_inc_max_seq',
      'B walk_mm',
      'B kvm clear_young',
      's clear_young',
      'f clear_young',
      'B evict_folios',
      'B kswapd awake',
      'B direct reclaim',
      'b Running lru_gen benchmark...',
      'X kvm.mmu_lock',
      'C ept_violation/s',
      'C handle_mm_fault/s',
      'i swap_out',
    ])
      expect(names).toContain(n);
    const threads = events.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
    expect(threads).toEqual(
      expect.arrayContaining(['main', 'vcpu0', 'vcpu1', 'kswapd0', 'KVM clear_young (from main)']),
    );
    expect(JSON.parse(text).otherData).toMatchObject({
      asyncFallbacks: 0,
      forcedCloses: 0,
      flowsLost: 0,
      truncatedAt: null,
    });
  });

  it('with --perfetto-window keeps only that simulated time', () => {
    const w = join(dir, 'w.json');
    expect(run(...RUN, '--json', '--perfetto', w, '--perfetto-window', '0.001:0.002').code).toBe(0);
    const { problems, events } = checkTraceEvents(readFileSync(w, 'utf8'));
    expect(problems).toEqual([]);
    const ts = events.filter((e) => e.ts !== undefined && e.ph !== 'C').map((e) => e.ts as number);
    expect(ts.length).toBeGreaterThan(100);
    expect(Math.min(...ts)).toBe(1000);
    expect(Math.max(...ts)).toBeLessThanOrEqual(2000);
  });

  it('a path that cannot be written, or a bad window: one line, exit 2, nothing written', () => {
    const bad = '/nonexistent/dir/x.json';
    const r = run('access-tracking', '-b', '2M', '--perfetto', bad);
    expect(r).toEqual({ code: 2, out: '', err: `mmulab: --perfetto: cannot write '${bad}' (ENOENT)\n` });
    expect(existsSync(bad)).toBe(false);
    const p = join(dir, 'never.json');
    const w = run('access-tracking', '-b', '2M', '--perfetto', p, '--perfetto-window', '2:1');
    expect(w).toEqual({
      code: 2,
      out: '',
      err: "mmulab: --perfetto-window: END must be after START ('2:1')\n",
    });
    expect(existsSync(p)).toBe(false);
    expect(run('access-tracking', '-b', '2M', '--perfetto-window', '1:2').err).toBe(
      'mmulab: --perfetto-window needs --perfetto FILE\n',
    );
  });

  it('parses windows in simulated seconds, either side optional', () => {
    expect(parsePerfettoWindow('0.5:0.6')).toEqual({ start: 500_000_000, end: 600_000_000 });
    expect(parsePerfettoWindow(':0.000001')).toEqual({ start: 0, end: 1000 });
    expect(parsePerfettoWindow('2:')).toEqual({ start: 2e9, end: Number.POSITIVE_INFINITY });
    expect(() => parsePerfettoWindow('1-2')).toThrow(/START:END in simulated seconds/);
  });
});
