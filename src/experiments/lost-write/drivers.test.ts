import { describe, expect, it } from 'vitest';
import { adPolicy } from '../../kvm/ad-policy.ts';
import { runRandom, runSystematic, systematicProgram } from './drivers.ts';
import { resolveLostWriteOptions } from './options.ts';

describe('lost-write drivers', () => {
  it('a 100-seed sweep: no-dirty loses a write with every seed without write notification; pre-6.13 and 6.13 never', () => {
    const o = resolveLostWriteOptions({ seeds: 100 });
    const noDirty = runRandom(o, adPolicy('no-dirty')!, false);
    expect([noDirty.runs, noDirty.runsWithLoss]).toEqual([100, 100]);
    expect(noDirty.first?.run).toBe('seed 1');
    for (const name of ['pre-6.13', '6.13'])
      for (const wn of [true, false]) {
        const s = runRandom(o, adPolicy(name)!, wn);
        expect([name, wn, s.runs, s.lostWrites]).toEqual([name, wn, 100, 0]);
        expect(s.writes).toBeGreaterThan(8000);
      }
  });

  it('systematic mode at the default depth: no-dirty loses writes without write notification, the shipped policies none', () => {
    const o = resolveLostWriteOptions({ systematic: true });
    expect([o.depth, o.pages]).toEqual([7, 2]);
    expect(systematicProgram(2).map((a) => `${a.write ? 'w' : 'r'}${a.page}`)).toEqual([
      'r0',
      'w0',
      'r1',
      'w1',
      'w0',
      'w1',
    ]);
    const noDirty = runSystematic(o, adPolicy('no-dirty')!, false);
    expect([noDirty.runs, noDirty.runsWithLoss > 0]).toEqual([3 ** 7, true]);
    // The shortest: the guest reads and writes page 0 and the VM ends: nothing ever dirtied the
    // folio, so fsync writes nothing.
    expect(noDirty.first?.run).toBe('schedule vvvvvvv');
    for (const name of ['pre-6.13', '6.13'])
      for (const wn of [true, false]) {
        const s = runSystematic(o, adPolicy(name)!, wn);
        expect([name, wn, s.runs, s.lostWrites]).toEqual([name, wn, 3 ** 7, 0]);
      }
  });
});
