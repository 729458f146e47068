import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import { CAT } from './accounting.ts';
import { Engine } from './engine.ts';
import { loadProfile, withCosts, zeroProfile } from './profile.ts';
import type { SimThread, ThreadBody } from './thread.ts';

/** One socket of 2 cores with 2 SMT threads each: CPUs 0 and 2 share core 0, 1 and 3 core 1. */
function smtEngine(slowdown = 2): Engine {
  return new Engine({
    profile: zeroProfile({ coresPerSocket: 2, threadsPerCore: 2, smtSiblingSlowdown: slowdown }),
    seed: 1,
  });
}

function elapsed(t: SimThread): number {
  return t.now - t.startNs;
}

function sumAcct(t: SimThread): number {
  return t.acct.reduce((a, b) => a + b, 0);
}

describe('SmtIssue (SMT siblings sharing a core)', () => {
  it('pairs each CPU with the one a socket-count x core-count further on', () => {
    const e = new Engine({
      profile: zeroProfile({ sockets: 2, coresPerSocket: 2, threadsPerCore: 2, smtSiblingSlowdown: 1.5 }),
      seed: 1,
    });
    expect([...(e.smt?.sibling ?? [])]).toEqual([4, 5, 6, 7, 0, 1, 2, 3]);
    // No SMT, or siblings that do not slow each other: nothing to model.
    expect(new Engine({ profile: zeroProfile({ threadsPerCore: 2 }), seed: 1 }).smt).toBeNull();
    expect(
      new Engine({ profile: zeroProfile({ threadsPerCore: 1, smtSiblingSlowdown: 2 }), seed: 1 }).smt,
    ).toBeNull();
  });

  it('one piece each: the later thread runs at half speed beside the first, which pays its share later', () => {
    const e = smtEngine(2);
    const body = function* (t: SimThread): ThreadBody {
      t.advance(1000);
      yield;
    };
    const a = e.spawn('a', body, 0, -1, 0);
    const b = e.spawn('b', body, 0, -1, 2);
    e.run();
    // a: [0, 1000) alone on the calendar. b: 500 of its 1000 beside a by 1000, the rest alone: 1500;
    // a owes (1 - 1/2) x 1000 = 500 and pays at its exit from 1000: 250 beside b by 1500, then 250
    // alone: 1750; b owes 250 for that and pays at its exit: 125 beside a by 1750, 125 alone.
    expect([a.now, b.now]).toEqual([1750, 1875]);
    expect([a.acct[CAT.other], b.acct[CAT.other]]).toEqual([1750, 1875]);
  });

  it('two busy siblings each run at 1/slowdown: the core does 2/slowdown of one thread', () => {
    const e = smtEngine(1.6);
    const body = function* (t: SimThread): ThreadBody {
      for (let i = 0; i < 1000; i++) {
        t.advance(70);
        t.advanceAs(CAT.guest, 30);
        if (t.mustSync()) yield;
      }
    };
    const a = e.spawn('a', body, 0, -1, 0);
    const b = e.spawn('b', body, 0, -1, 2);
    // A thread on the other core is not slowed.
    const c = e.spawn('c', body, 0, -1, 1);
    e.run();
    // 2 x 100 000 ns of work at 2 / 1.6 = 1.25 per ns: 160 000 ns for both, less what b owes a
    // for the overlap of its last piece (a has exited) and a owes b for the overlap of that.
    expect([a.now, b.now, c.now]).toEqual([159990, 159996, 100000]);
    // The slowdown lands in the categories of the work slowed, in the order the pieces met.
    expect([a.acct[CAT.other], a.acct[CAT.guest], b.acct[CAT.other], b.acct[CAT.guest]]).toEqual([
      117987, 42003, 113997, 45999,
    ]);
    for (const t of [a, b, c]) expect(sumAcct(t)).toBe(elapsed(t));
  });

  it('spinning, waiting for a line and sleeping leave the issue slots to the sibling', () => {
    const e = smtEngine(2);
    const lock = e.categories.lock('test');
    const a = e.spawn(
      'a',
      function* (t) {
        for (let i = 0; i < 10; i++) {
          t.advance(1000);
          yield;
        }
      },
      0,
      -1,
      0,
    );
    const b = e.spawn(
      'b',
      function* (t) {
        for (let i = 0; i < 20; i++) {
          t.until(lock, t.now + 500);
          yield;
        }
      },
      0,
      -1,
      2,
    );
    e.run();
    expect([a.now, b.now]).toEqual([10000, 10000]);
    expect(b.acct[lock]).toBe(10000);
  });

  it('zeroing a page is CPU work: it competes with the sibling as the rest of the fault does', () => {
    // Two cores for 4 threads (main, 2 vCPUs, the aging walker): siblings work at the same time.
    const small = withCosts(loadProfile('seed003-x86'), { sockets: 1, coresPerSocket: 2 });
    const run = (p: typeof small) =>
      runAccessTracking({ vcpus: 2, vcpuBytes: 2 << 20, lruGen: true, benchmark: true, seed: 1 }, p);
    const shared = run(small);
    const apart = run(withCosts(small, { smtSiblingSlowdown: 1 }));
    const zero = (r: typeof shared) =>
      r.time.classes.find((c) => c.class === 'vcpu')?.categories['page zeroing'];
    expect(zero(shared)).toBeGreaterThan(zero(apart) ?? 0);
  });

  it("every thread's categories sum exactly to its elapsed time with siblings busy (random small runs)", () => {
    const small = withCosts(loadProfile('seed003-x86'), { sockets: 1, coresPerSocket: 2 });
    fc.assert(
      fc.property(
        fc.record({
          vcpus: fc.integer({ min: 1, max: 3 }),
          mode: fc.constantFrom('page_idle', 'lru_gen', 'benchmark'),
          seed: fc.integer({ min: 0, max: 5 }),
        }),
        (o) => {
          const lruGen = o.mode !== 'page_idle';
          const r = runAccessTracking(
            { vcpus: o.vcpus, vcpuBytes: 2 << 20, lruGen, benchmark: o.mode === 'benchmark', seed: o.seed },
            small,
          );
          for (const t of r.time.threads)
            expect(Object.values(t.categories).reduce((a, b) => a + b, 0)).toBe(t.elapsedNs);
        },
      ),
      { numRuns: 6, seed: 7 },
    );
  });

  it('remembers all the work a lagging sibling may still run beside (the calendar grows past 512 pieces)', () => {
    const e = smtEngine(2);
    // a does 2000 pieces of 10 ns in one step (alternating categories, so none merge): [0, 20000).
    const a = e.spawn(
      'a',
      function* (t: SimThread): ThreadBody {
        for (let i = 0; i < 2000; i++) t.advanceAs(i % 2 === 0 ? CAT.other : CAT.guest, 10);
        yield;
      },
      0,
      -1,
      0,
    );
    // b, a's sibling, issues 30 000 ns of work at time 0, after a's step: beside all of a's work.
    let firstPieceEnd = 0;
    const b = e.spawn(
      'b',
      function* (t: SimThread): ThreadBody {
        t.advanceAs(CAT.kvmFault, 30000);
        firstPieceEnd = t.now;
        yield;
      },
      0,
      -1,
      2,
    );
    e.run();
    // Half speed beside a's 20 000 ns (10 000 of b's work), the other 20 000 alone: 40 000. A calendar
    // that kept only a's last 512 pieces saw a's work from 14 880 on only: 32 560 (14 880 alone,
    // 5 120 beside a for 2 560 of work, 12 560 alone).
    expect(firstPieceEnd).toBe(40000);
    for (const t of [a, b]) expect(sumAcct(t)).toBe(elapsed(t));
  });
});
