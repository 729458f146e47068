import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../sim/profile.ts';
import { placeThreads, runLineContention } from './line-contention.ts';

describe('micro line-contention', () => {
  const p = loadProfile('seed003-x86');

  it('two threads in turn: each RMW is one hand-off at the profile cost of its placement', () => {
    // The first RMW pulls the line from nobody (an in-socket transfer); every later one from the other CPU.
    const same = runLineContention({ threads: 2, placement: 'same-socket' }, p);
    expect(same.cpus).toEqual([0, 1]);
    expect(same.elapsedNs).toBe(2000 * p.cacheLineTransferNs);
    expect(same.transfers).toBe(2000);
    const cross = runLineContention({ threads: 2, placement: 'cross-socket' }, p);
    expect(cross.cpus).toEqual([0, 56]);
    expect(cross.elapsedNs).toBe(p.cacheLineTransferNs + 1999 * p.cacheLineRemoteNs);
    expect(cross.remoteTransfers).toBe(1999);
    // SMT siblings share the core's caches: a local RMW each.
    const smt = runLineContention({ threads: 2, placement: 'smt' }, p);
    expect(smt.cpus).toEqual([0, 112]);
    expect(smt.elapsedNs).toBe(p.cacheLineTransferNs + 1999 * p.cacheLineLocalNs);
  });

  it('N threads on one socket share the line: one transfer per RMW, dearer with the queue ahead of it', () => {
    const r = runLineContention({ threads: 8, placement: 'same-socket', rmwsPerThread: 100 }, p);
    expect([r.rmws, r.transfers]).toEqual([800, 800]);
    // Once all eight queue, each transfer is 50 ns plus round(0.15 x 7 RMWs ahead) = 1 ns; the first
    // four had fewer than four ahead, which rounds to nothing.
    expect(p.cacheLineTransferNs + Math.round(p.cacheLineQueuedNs * 7)).toBe(51);
    expect(r.elapsedNs).toBe(800 * 51 - 4);
  });

  it('skl-6700hq: one thread owns the line (7 ns), N threads wait N hand-offs of 22 ns per RMW, and more in a queue', () => {
    const per = (n: number) =>
      runLineContention({ threads: n, placement: 'same-socket', rmwsPerThread: 100 }, 'skl-6700hq');
    // The first RMW fills the line (one transfer); every later one is local.
    expect(per(1).elapsedNs).toBe(22 + 99 * 7);
    // Up to three RMWs ahead add round(0.15 x 3) = 0 to a hand-off (seed003-x86's
    // cacheLineQueuedNs, which the laptop profiles keep).
    expect([2, 3, 4].map((n) => per(n).nsPerOpPerThread)).toEqual([44, 66, 88]);
    const icl = (n: number) =>
      runLineContention({ threads: n, placement: 'same-socket', rmwsPerThread: 100 }, 'icl-1035g4');
    expect([2, 3, 4].map((n) => icl(n).nsPerOpPerThread)).toEqual([32, 48, 64]);
  });

  it('refuses placements the profile cannot host', () => {
    expect(() => placeThreads(p, 0, 'spread')).toThrow('--threads must be a whole number >= 1');
    expect(() => placeThreads(p, 225, 'spread')).toThrow('has 224 CPUs');
    expect(() => placeThreads(p, 113, 'same-socket')).toThrow('a socket of seed003-x86 has 112 CPUs');
    expect(() => placeThreads(loadProfile('x86-tdp'), 2, 'cross-socket')).toThrow('has one socket');
  });
});
