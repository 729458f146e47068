import { describe, expect, it } from 'vitest';
import { main } from './main.ts';

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmulab lost-write', () => {
  it('prints per policy the writes, write-backs, unneeded ones, drops and lost writes, with the first loss and its trail', () => {
    const r = run('lost-write', '--seeds', '2', '--steps', '200', '--policy', '6.13,no-dirty');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      '# mmulab lost-write: MAP_SHARED file-backed guest memory, --mmu tdp, EPT A/D off; random: seeds 1-2, 200 steps each, 4 pages; simulated',
      'policy       writenotify   runs  writes  written-back  unneeded  dropped  lost  runs-with-loss',
      expect.stringMatching(/^6\.13 +on +2 .* 0 +0$/),
      expect.stringMatching(/^6\.13 +off +2 .* 0 +0$/),
      expect.stringMatching(/^no-dirty +on +2 .* 0 +0$/),
      expect.stringMatching(/^no-dirty +off +2 .* [1-9]\d* +2$/),
    ]);
    expect(lines[7]).toMatch(
      /^## no-dirty, writenotify off: first lost write \(seed 1\): write #\d+ to page \d/,
    );
    expect(lines[8]).toMatch(/^ {2}step +\d+ {2}\w+/);
  });

  it('--json carries the same summaries', () => {
    const r = run(
      'lost-write',
      '--seeds',
      '1',
      '--steps',
      '100',
      '--policy',
      'pre-6.13',
      '--writenotify',
      'on',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.simulated).toBe(true);
    expect(
      j.results.map((s: { policy: string; writenotify: boolean; runs: number; lostWrites: number }) => [
        s.policy,
        s.writenotify,
        s.runs,
        s.lostWrites,
      ]),
    ).toEqual([['pre-6.13', true, 1, 0]]);
  });
});
