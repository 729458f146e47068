import { describe, expect, it } from 'vitest';
import { WaitCount } from '../sync/wait-count.ts';
import { Engine } from './engine.ts';
import { zeroProfile } from './profile.ts';
import { call, type SimThread } from './thread.ts';

describe('Engine', () => {
  it('runs the earliest thread first and equal times in FIFO order', () => {
    const e = new Engine({ profile: zeroProfile(), seed: 1 });
    const log: string[] = [];
    for (const [name, at] of [
      ['a', 30],
      ['b', 10],
      ['c', 10],
      ['d', 20],
    ] as const) {
      e.spawn(name, function* (t) {
        t.advance(at);
        yield;
        log.push(`${name}@${t.now}`);
      });
    }
    expect(e.run()).toBe(30);
    expect(log).toEqual(['b@10', 'c@10', 'd@20', 'a@30']);
  });

  it('keeps a thread running without queue traffic while it stays the earliest', () => {
    const e = new Engine({ profile: zeroProfile(), seed: 1 });
    e.spawn('solo', function* (t) {
      for (let i = 0; i < 1000; i++) {
        t.advance(5);
        yield;
      }
    });
    expect(e.run()).toBe(5000);
    expect(e.steps).toBe(1);
  });

  it('runs threads beyond the CPU count one after another, and a sleeper gives its CPU away', () => {
    const e = new Engine({ profile: zeroProfile({ contextSwitchNs: 7, wakeupNs: 3 }), seed: 1, cpus: 1 });
    const ends: Record<string, number> = {};
    const gate = new WaitCount(e, false);
    e.spawn('sleeper', function* (t) {
      yield gate.waitFor(t, 1);
      ends.sleeper = t.now;
    });
    e.spawn('worker', function* (t) {
      t.advance(100);
      yield;
      gate.add(t, 1);
      ends.worker = t.now;
    });
    e.run();
    // worker gets the CPU when the sleeper sleeps (+7), runs 100, wakes the sleeper; the sleeper
    // needs the CPU back: after the worker exits (+7 switch).
    expect(ends).toEqual({ worker: 107, sleeper: 114 });
  });

  it('places threads forked by a running thread near it, a woken one on its old CPU, a bound one on its node', () => {
    // Two sockets of 8 cores (CPUs 0-7 and 8-15, siblings 16-31): imb_numa_nr 2.
    const e = new Engine({
      profile: zeroProfile({ sockets: 2, coresPerSocket: 8, threadsPerCore: 2 }),
      seed: 1,
    });
    const cpus: Record<string, number[]> = {};
    const gate = new WaitCount(e, false);
    e.spawn('main', function* (t) {
      for (let i = 0; i < 4; i++)
        e.spawn(`child${i}`, function* (c) {
          cpus[c.name] = [c.cpu];
          c.advance(10);
          yield gate.waitFor(c, 1);
          cpus[c.name].push(c.cpu);
        });
      e.spawn(
        'kthread1',
        function* (k) {
          cpus[k.name] = [k.cpu];
          yield;
        },
        t.now,
        1,
      );
      t.advance(100);
      yield;
      gate.add(t, 1);
    });
    e.run();
    // main on CPU 0; the second child would make node 0 run 3 tasks (over imb_numa_nr): node 1.
    expect(cpus).toEqual({
      child0: [1, 1],
      child1: [8, 8],
      child2: [9, 9],
      child3: [2, 2],
      kthread1: [10],
    });
  });

  it('is deterministic: the same seed draws the same jitter', () => {
    const draw = (seed: number) => {
      const e = new Engine({ profile: zeroProfile({ jitter: 0.1 }), seed });
      const out: number[] = [];
      e.spawn('x', function* (t) {
        for (let i = 0; i < 5; i++) out.push(t.jittered(1000));
        yield;
      });
      e.run();
      return out;
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
    for (const v of draw(3)) expect(v >= 900 && v <= 1100).toBe(true);
  });

  it('runs a `call`ed generator as a subroutine: same interleaving, result and exceptions as yield*', () => {
    function* ticks(t: SimThread, name: string, n: number, log: string[]): Generator<void, number, void> {
      for (let i = 0; i < n; i++) {
        t.advance(10);
        yield;
        log.push(`${name}${i}@${t.now}`);
      }
      if (n === 0) throw new Error(`${name}: nothing to do`);
      return n * 100;
    }
    const run = (useCall: boolean) => {
      const e = new Engine({ profile: zeroProfile(), seed: 1 });
      const log: string[] = [];
      for (const [name, n, at] of [
        ['a', 3, 0],
        ['b', 2, 5],
      ] as const) {
        e.spawn(name, function* (t) {
          t.advance(at);
          const r = useCall ? yield* call(ticks(t, name, n, log)) : yield* ticks(t, name, n, log);
          log.push(`${name} returned ${r}`);
          try {
            if (useCall) yield* call(ticks(t, name, 0, log));
            else yield* ticks(t, name, 0, log);
          } catch (err) {
            log.push((err as Error).message);
          }
        });
      }
      return { end: e.run(), steps: e.steps, log };
    };
    const viaCall = run(true);
    expect(viaCall).toEqual(run(false));
    expect(viaCall.log).toEqual([
      'a0@10',
      'b0@15',
      'a1@20',
      'b1@25',
      'b returned 200',
      'b: nothing to do',
      'a2@30',
      'a returned 300',
      'a: nothing to do',
    ]);
  });
});
