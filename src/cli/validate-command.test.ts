import { describe, expect, it } from 'vitest';
import { main } from './main.ts';

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

// Small runs: 1 vCPU x 4 MiB, and page_fault1 tasks of one page (the published runs map 128 MiB).
const SMALL = ['--vcpus', '1', '-b', '4M', '-j', '1'];

describe('mmulab validate: the micro-experiment section', () => {
  it('prints it after the seed-003 sections, and carries the same rows in --json', () => {
    const text = run('validate', ...SMALL, '--micro-memsize', '4K');
    expect(text.code).toBe(0);
    const sections = text.out.split('\n').filter((l) => l.startsWith('# ') && !l.startsWith('# note'));
    expect(sections).toEqual([
      '# seed 003: access_tracking_perf_test -p -l, published (real hardware) vs simulated (seconds)',
      '# shape: aging pass no opt/opt, and wall-time overhead against no aging',
      '# growth against 1 vCPU(s): no-aging wall time, no-opt pass, opt pass; what a fault takes longer (µs)',
      "# shared lines of the no-aging runs, per page faulted in: accesses, pulls from another CPU's cache",
      '# (perf c2c: HITMs), the share of pulls from the other socket, time waited for the line (ns);',
      '# docs/real-host.md says how to measure them on a real host',
      '# micro-experiments: published (hardware) vs simulated, each machine on its profile (docs/micro-references.md)',
      // The twenty line rows (fourteen two-CPU hand-offs, the laptops' 2-4 threads), the four THP
      // rows (one 2 MiB page per task: bound by memory bandwidth at any size), the ten pft rows (1 GiB
      // whatever --micro-memsize says) and two page_fault3 and three page_fault2 process rows; 4 KiB
      // page_fault1-3 with one page per task are far from 128 MiB's figures.
      '# 39 of 55 simulated rows within ±25 %; 0 rows not simulated',
    ]);
    expect(text.out).toContain(
      'line-contention spr-2s       seed003-x86  cross-socket         2        138.0        149.9 ns per hand-off        1.09x  yes\n',
    );
    const json = JSON.parse(run('validate', ...SMALL, '--micro-memsize', '4K', '--json').out);
    expect(Object.keys(json)).toEqual(['simulated', 'vcpuBytes', 'rows', 'shape', 'lines', 'micro']);
    expect(json.micro.memsize).toBe(4096);
    expect(json.micro.rows).toHaveLength(55);
    expect(json.micro.rows[1]).toEqual({
      experiment: 'line-contention',
      machine: 'spr-2s',
      setting: 'cross-socket',
      threads: 2,
      published: 138,
      unit: 'ns per hand-off',
      src: 'chipsandcheese2023',
      profile: 'seed003-x86',
      simulated: 149.95,
      ratio: 149.95 / 138,
      withinTolerance: true,
      notSimulated: null,
    });
    const lines = text.out.split('\n').filter((l) => /^(line-contention|page_fault\d|pft) /.test(l));
    expect(lines.map((l) => l.split(/ +/).slice(0, 4).join(' '))).toEqual(
      json.micro.rows.map((r: Record<string, unknown>) =>
        [r.experiment, r.machine, r.profile ?? '-', r.setting].join(' '),
      ),
    );
  });

  it('skips it with --no-micro', () => {
    const r = run('validate', ...SMALL, '--no-micro');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('micro');
    expect(JSON.parse(run('validate', ...SMALL, '--no-micro', '--json').out).micro).toBeNull();
  });
});
