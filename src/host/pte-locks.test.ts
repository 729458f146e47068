import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import { PteLocks } from './pte-locks.ts';

const profile = () => zeroProfile({ cacheLineTransferNs: 10, cacheLineLocalNs: 1 });

describe('PteLocks', () => {
  it('parks a thread that wants a table held across steps until the holder unlocks it', () => {
    const e = new Engine({ profile: profile(), seed: 1, cpus: 4 });
    const ptl = new PteLocks(e);
    const log: string[] = [];
    e.spawn('walker', function* (t) {
      expect(ptl.tryLock(t, 7)).toBe(true); // takes the line: 0 + 10
      for (let i = 0; i < 5; i++) {
        t.advance(100);
        yield;
      }
      ptl.unlock(t, 7); // 510 + 1
      log.push(`unlocked@${t.now}`);
    });
    e.spawn('fault', function* (t) {
      t.advance(50);
      yield;
      expect(ptl.heldByOther(t, 8)).toBe(false);
      expect(ptl.tryLock(t, 7)).toBe(false);
      while (ptl.heldByOther(t, 7)) yield ptl.wait(t, 7);
      log.push(`fault@${t.now}`);
    });
    e.run();
    expect(log).toEqual(['unlocked@511', 'fault@521']);
    expect(ptl.stats.writeContended).toBe(1);
    expect(ptl.stats.writeWaitNs).toBe(521 - 50);
  });

  it('makes a fault inside a recorded one-step hold wait for its release, and not one after it', () => {
    const e = new Engine({ profile: profile(), seed: 1 });
    const ptl = new PteLocks(e);
    const ends: number[] = [];
    e.spawn('walker', function* (t) {
      ptl.tryLock(t, 3); // held from 10
      t.advance(1000);
      ptl.unlock(t, 3); // released at 1011
      yield;
    });
    e.spawn('fault', function* (t) {
      t.advance(500);
      expect(ptl.waitRecorded(t, 4)).toBe(0);
      expect(ptl.waitRecorded(t, 3)).toBe(1011 + 10 - 500);
      ends.push(t.now);
      t.advance(5000);
      expect(ptl.waitRecorded(t, 3)).toBe(0);
      yield;
    });
    e.run();
    expect(ends).toEqual([1021]);
    expect(ptl.stats.writeAcquired).toBe(1);
    expect(ptl.stats.writeContended).toBe(1);
  });
});
