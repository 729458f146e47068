import { describe, expect, it } from 'vitest';
import { CoreClock } from './core-clock.ts';
import { Engine } from './engine.ts';
import { loadProfile, zeroProfile } from './profile.ts';
import { Topology } from './topology.ts';

describe('CoreClock (turbo ratio limits)', () => {
  it('keeps the top clock up to turboFullCores active cores, then falls linearly to all-core', () => {
    const p = loadProfile('seed003-x86');
    const c = new CoreClock(p, new Topology(p, 224));
    expect([c.mhz(1), c.mhz(28), c.mhz(42), c.mhz(56)]).toEqual([3800, 3800, 3400, 3000]);
  });

  it('counts a core once when both SMT siblings are busy, per socket', () => {
    const p = zeroProfile({
      sockets: 2,
      coresPerSocket: 4,
      threadsPerCore: 2,
      turboMaxMhz: 4000,
      turboAllCoreMhz: 2000,
      turboFullCores: 2,
    });
    const topo = new Topology(p, 16);
    const c = new CoreClock(p, topo);
    // CPUs 0-3: socket 0's cores; 4-7: socket 1's; 8-15 their SMT siblings in the same order.
    for (const cpu of [0, 1, 8, 9]) c.busy(cpu, 1);
    expect([c.activeCores[0], c.slowdown[0]]).toEqual([2, 1]);
    c.busy(2, 1);
    // 3 of 4 cores: halfway from 4000 to 2000 MHz.
    expect([c.activeCores[0], c.slowdown[0], c.slowdown[1]]).toEqual([3, 4000 / 3000, 1]);
    c.busy(2, -1);
    c.busy(8, -1);
    expect([c.activeCores[0], c.slowdown[0]]).toEqual([2, 1]);
  });

  it('stretches CPU work, not waiting, while more cores are active', () => {
    const p = zeroProfile({
      coresPerSocket: 4,
      turboMaxMhz: 4000,
      turboAllCoreMhz: 2000,
      turboFullCores: 1,
    });
    const e = new Engine({ profile: p, seed: 1 });
    const ends: number[] = [];
    // Alone on the socket: 1000 ns of work takes 1000 ns.
    e.spawn('solo', function* (t) {
      const start = t.now;
      t.advance(1000);
      ends.push(t.now - start);
      yield;
    });
    e.run();
    // Four threads at once: every core active, 2000 MHz, twice as long.
    for (let i = 0; i < 4; i++)
      e.spawn(`w${i}`, function* (t) {
        const start = t.now;
        t.advance(1000);
        ends.push(t.now - start);
        yield;
      });
    e.run();
    expect(ends).toEqual([1000, 2000, 2000, 2000, 2000]);
  });
});
