import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import { SwapDevice } from './swap.ts';

describe('SwapDevice', () => {
  it('hands out slots, never slot 0, and reuses freed ones', () => {
    const s = new SwapDevice(4);
    expect([s.allocSlot(), s.allocSlot(), s.allocSlot(), s.allocSlot()]).toEqual([1, 2, 3, -1]);
    s.freeSlot(2);
    expect(s.freeSlots).toBe(1);
    expect(s.allocSlot()).toBe(2);
  });

  it('queues I/Os for its bandwidth; each completes its latency after it starts', () => {
    const e = new Engine({ profile: zeroProfile(), seed: 1 });
    const s = new SwapDevice(8);
    const done: Record<string, number> = {};
    for (const name of ['a', 'b', 'c'])
      e.spawn(name, function* (t) {
        t.advance(100);
        if (t.mustSync()) yield;
        s.io(t, 5000, 1600);
        done[name] = t.now;
      });
    e.run();
    // Issued together at 100 ns: they start 1600 ns apart, in the order the engine ran them.
    expect(Object.values(done).sort((x, y) => x - y)).toEqual([5100, 6700, 8300]);
    expect(s.queuedNs).toBe(1600 + 3200);
  });
});
