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
    expect([noDirty.writes, noDirty.lostWrites]).toEqual([9268, 1414]);
    const shipped = ['pre-6.13', '6.13'].flatMap((name) =>
      [true, false].map((wn) => {
        const s = runRandom(o, adPolicy(name)!, wn);
        return [name, wn, s.runs, s.writes, s.pagesWritten, s.unneededWritebacks, s.lostWrites];
      }),
    );
    expect(shipped).toEqual([
      ['pre-6.13', true, 100, 7894, 9850, 3747, 0],
      ['pre-6.13', false, 100, 8643, 10429, 4207, 0],
      ['6.13', true, 100, 7894, 9850, 3747, 0],
      ['6.13', false, 100, 8003, 10777, 4837, 0],
    ]);
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

  it('the shadow MMU gives the same verdicts (systematic, depth 5)', () => {
    const o = resolveLostWriteOptions({ systematic: true, depth: 5, mmu: 'shadow' });
    const verdicts = ['pre-6.13', '6.13', 'no-dirty'].map((name) => {
      const s = runSystematic(o, adPolicy(name)!, false);
      return [name, s.runs, s.lostWrites > 0];
    });
    expect(verdicts).toEqual([
      ['pre-6.13', 243, false],
      ['6.13', 243, false],
      ['no-dirty', 243, true],
    ]);
  });
});
