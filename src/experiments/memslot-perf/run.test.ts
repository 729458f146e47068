import { describe, expect, it } from 'vitest';
import { type MemslotPerfOptions, resolveMemslotPerfOptions } from './options.ts';
import { runMemslotPerf } from './run.ts';

/** -s 10 (9 memslots besides slot 0), a test length of 20 simulated ms (the API takes fractions). */
function opts(raw: Parameters<typeof resolveMemslotPerfOptions>[0]): MemslotPerfOptions {
  return { ...resolveMemslotPerfOptions({ slots: 10, ...raw }), seconds: 0.02 };
}

describe('mmulab memslot-perf (memslot_perf_test)', () => {
  it('-s 10 -d -v, tests 0-4 on the TDP MMU: the selftest lines, iterations and exits', () => {
    const r = runMemslotPerf(opts({ tlast: 4, verify: true, verbose: true }));
    const setup = 'Test took 0.000298080s for slot setup';
    expect(r.stdout).toEqual([
      'Allowed Number of memory slots: 10',
      'Testing map performance with 1 runs, 0.02 seconds each',
      'Adding slots 1..9, each slot with 912 pages + 0 extra pages last',
      'Launching the test VM',
      `${setup} + 0.021831351s all iterations`,
      'Done 1 iterations, avg 0.021831351s each',
      'Best runtime result was 0.021831351s per iteration (with 1 iterations)',
      '',
      'Testing unmap performance with 1 runs, 0.02 seconds each',
      'Adding slots 1..9, each slot with 3642 pages + 6 extra pages last',
      'Launching the test VM',
      `${setup} + 0.025702775s all iterations`,
      'Done 2 iterations, avg 0.012851387s each',
      'Best runtime result was 0.012851387s per iteration (with 2 iterations)',
      '',
      'Testing unmap chunked performance with 1 runs, 0.02 seconds each',
      'Adding slots 1..9, each slot with 3642 pages + 6 extra pages last',
      'Launching the test VM',
      `${setup} + 0.020677659s all iterations`,
      'Done 25 iterations, avg 0.000827106s each',
      'Best runtime result was 0.000827106s per iteration (with 25 iterations)',
      '',
      'Testing move active area performance with 1 runs, 0.02 seconds each',
      'Adding slots 1..9, each slot with 14565 pages + 3 extra pages last',
      'Launching the test VM',
      `${setup} + 0.020039314s all iterations`,
      'Done 145 iterations, avg 0.000138202s each',
      'Best runtime result was 0.000138202s per iteration (with 145 iterations)',
      '',
      'Testing move inactive area performance with 1 runs, 0.02 seconds each',
      'Adding slots 1..9, each slot with 14565 pages + 3 extra pages last',
      'Launching the test VM',
      `${setup} + 0.020104297s all iterations`,
      'Done 144 iterations, avg 0.000139613s each',
      'Best runtime result was 0.000139613s per iteration (with 144 iterations)',
      'Best slot setup time for the whole test area was 0.000298080s',
    ]);
    // map: 8192 pages faulted in, then the 4096 the host unmapped under the guest refaulted.
    // unmap: one page of each half per sync, refaulted after each madvise. Move active: each move
    // takes half the 48-page area away, so the guest exits for MMIO on it.
    expect(r.runs.map((x) => [x.test, x.nloops, x.mmioExits, x.eptViolations])).toEqual([
      ['map', 1, 0, 12288],
      ['unmap', 2, 0, 5],
      ['unmap chunked', 25, 0, 51],
      ['move active area', 145, 1305, 7136],
      ['move inactive area', 144, 0, 10685],
    ]);
  });

  it('-q (no slot zap quirk): a move zaps only the moved slot, so the inactive area stays mapped', () => {
    for (const [mmu, quirk, noQuirk] of [
      ['tdp', 10685, 48],
      ['shadow', 1638, 6],
    ] as const) {
      const run = (q: boolean) =>
        runMemslotPerf(opts({ tfirst: 4, tlast: 4, mmu, noSlotZapQuirk: q })).runs[0].eptViolations;
      expect([mmu, run(false), run(true)]).toEqual([mmu, quirk, noQuirk]);
    }
  });

  it('the shadow MMU prefetches around a fault (PTE_PREFETCH_NUM): RW faults one page in 8', () => {
    const r = runMemslotPerf(opts({ tfirst: 5, tlast: 5, mmu: 'shadow' }));
    expect(r.stdout.slice(1, 3)).toEqual([
      'Test took 0.000298080s for slot setup + 0.080740710s all iterations',
      'Done 1 iterations, avg 0.080740710s each',
    ]);
    expect([r.runs[0].nloops, r.runs[0].eptViolations]).toEqual([1, 16405]);
  });

  it('too many memslots for a test: the two messages of test_loop, and the next test still runs', () => {
    // map has 8208 pages: with 32763 slots no slot gets a page; at most 8208 + 1 memslots fit.
    const r = runMemslotPerf({ ...resolveMemslotPerfOptions({ tlast: 0 }), seconds: 0 });
    expect(r.stdout).toEqual([
      'Testing map performance with 1 runs, 0 seconds each',
      'Memslot count too high for this test, decrease the cap (max is 8209)',
    ]);
    // 7711 slots of 17 pages leave the last one 18 pages, less than half the 48-page move area.
    const m = runMemslotPerf({
      ...resolveMemslotPerfOptions({ slots: 7712, tfirst: 3, tlast: 4 }),
      seconds: 0,
    });
    expect(m.stdout).toEqual([
      'Testing move active area performance with 1 runs, 0 seconds each',
      'Memslot count may be too high for this test, try adjusting the cap',
      '',
      'Testing move inactive area performance with 1 runs, 0 seconds each',
      'Test took 0.255388320s for slot setup + 0.000000000s all iterations',
      // A run without a full loop is not ranked: no "Best" line.
      'No full loops done - too short test time or system too loaded?',
    ]);
  });

  it("refuses what parse_args refuses, in the selftest's words", () => {
    expect(() => resolveMemslotPerfOptions({ slots: 1 })).toThrow(
      'Slot count cap must be larger than 1 or -1 for no cap',
    );
    expect(() => resolveMemslotPerfOptions({ tlast: 6 })).toThrow(
      'Last test to run has to be non-negative and less than 6',
    );
    expect(() => resolveMemslotPerfOptions({ tfirst: 3, tlast: 2 })).toThrow(
      'First test to run cannot be greater than the last test to run',
    );
    expect(() => resolveMemslotPerfOptions({ runs: 0 })).toThrow(
      'Runs per test (-r) must be a whole number > 0',
    );
    expect(resolveMemslotPerfOptions({ slots: 40000 }).nslots).toBe(32763);
  });
});
