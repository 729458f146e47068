import { describe, expect, it } from 'vitest';
import { WaitCount } from '../sync/wait-count.ts';
import { Engine } from './engine.ts';
import { zeroProfile } from './profile.ts';

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
});
