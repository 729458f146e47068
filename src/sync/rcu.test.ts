import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import { RcuDomain } from './rcu.ts';

describe('RcuDomain', () => {
  it('synchronize waits for readers that were inside when it began, not for later ones', () => {
    const e = new Engine({ profile: zeroProfile({ wakeupNs: 0 }), seed: 1 });
    const rcu = new RcuDomain(e, 'rcu', 5, 0);
    const log: string[] = [];
    let freed = -1;
    e.spawn('old-reader', function* (t) {
      rcu.readLock(t);
      t.advance(100);
      yield;
      rcu.readUnlock(t);
      log.push(`old out ${t.now}`);
    });
    e.spawn('writer', function* (t) {
      t.advance(10);
      yield;
      rcu.callRcu(t.now, (time) => {
        freed = time;
      });
      yield rcu.synchronize(t);
      log.push(`sync done ${t.now}`);
    });
    e.spawn('new-reader', function* (t) {
      t.advance(20);
      yield;
      rcu.readLock(t);
      t.advance(1000);
      yield;
      rcu.readUnlock(t);
      log.push(`new out ${t.now}`);
    });
    e.run();
    expect(log).toEqual(['old out 100', 'sync done 105', 'new out 1020']);
    expect(rcu.completed).toBe(1);
    expect(freed).toBe(105);
  });
});
