import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CacheLine, type LineCosts } from './cache-line.ts';
import { Engine } from './engine.ts';
import { zeroProfile } from './profile.ts';

const costs: LineCosts = { localNs: 1, transferNs: 10, remoteNs: 10, socketOf: null };

describe('CacheLine', () => {
  it('lets a late pull use a gap only if a pull from any socket would fit it (no socket is favoured)', () => {
    // CPUs 0 and 1 on socket 0, CPU 2 on socket 1: a same-socket pull costs 10, a remote one 30.
    const socketOf = Uint8Array.of(0, 0, 1);
    const mk = () => new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 30, socketOf });
    const a = mk();
    expect(a.rmw(0, 0)).toBe(10);
    expect(a.rmw(30, 0)).toBe(31); // a 20 ns gap [10, 30) before it
    // Issued at 5 on CPU 0's socket: the gap would fit a same-socket pull, but not a remote one,
    // so neither may take it; both go after the last RMW.
    expect(a.rmw(5, 1)).toBe(41);
    const b = mk();
    expect(b.rmw(0, 0)).toBe(10);
    expect(b.rmw(30, 0)).toBe(31);
    expect(b.rmw(5, 2)).toBe(61);
  });

  it('charges a pull at least contendedNs while another request waits besides the holder, wherever the line comes from', () => {
    const socketOf = Uint8Array.from([0, 0, 0, 1]);
    const l = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 30, contendedNs: 25, socketOf });
    expect(l.rmw(0, 0)).toBe(10); // nobody had it: one fill, nothing queued
    expect(l.rmw(0, 1)).toBe(20); // one ahead, the holder's own (a ping-pong): no floor
    expect(l.rmw(0, 2)).toBe(45); // two ahead, same socket: the floor, 25 instead of 10
    expect(l.rmw(0, 3)).toBe(75); // three ahead, from the other socket: 30, above the floor
    expect(l.rmw(0, 3)).toBe(76); // its own line: a local RMW, however many were ahead
    expect(l.rmw(100, 0)).toBe(130); // issued after the last one ended: nothing queued, 30 from CPU 3
    expect([l.accesses, l.transfers, l.remoteTransfers]).toEqual([6, 5, 2]);
    // A load then a store with two RMWs ahead: two transactions, each at least the floor.
    const m = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 30, contendedNs: 25, socketOf });
    expect([m.rmw(0, 0), m.rmw(0, 1), m.rmw(0, 2, 2)]).toEqual([10, 20, 70]);
  });

  it('adds queuedNs to a pull for each RMW queued ahead of it, not to a local RMW or the first in line', () => {
    const l = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 10, queuedNs: 2, socketOf: null });
    expect(l.rmw(0, 0)).toBe(10); // nobody had it: one fill, nothing queued
    expect(l.rmw(0, 1)).toBe(22); // one RMW ahead: 10 + 2
    expect(l.rmw(0, 2)).toBe(36); // two ahead: 10 + 4
    expect(l.rmw(0, 2)).toBe(37); // its own line: a local RMW, however many were ahead
    expect(l.rmw(40, 0)).toBe(50); // issued after the last one ended: nothing queued
    expect([l.accesses, l.transfers, l.maxQueue]).toEqual([5, 4, 3]);
    // A late pull takes a gap only if its surcharge fits too.
    const g = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 10, queuedNs: 2, socketOf: null });
    expect([g.rmw(0, 0), g.rmw(20, 1), g.rmw(45, 0)]).toEqual([10, 30, 55]);
    // Issued at 5: [10, 20) would fit a pull with one RMW ahead but not its 10 + 2; [30, 45) fits
    // 10 + 2 x 2 with two ahead.
    expect(g.rmw(5, 2)).toBe(44);
    const none = new CacheLine(costs);
    expect([none.rmw(0, 0), none.rmw(20, 1), none.rmw(45, 0), none.rmw(5, 2)]).toEqual([10, 30, 55, 20]);
    // Whole nanoseconds: 0.3 per RMW ahead rounds to 0 with one ahead, 1 with two or three.
    const r = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 10, queuedNs: 0.3, socketOf: null });
    expect([r.rmw(0, 0), r.rmw(0, 1), r.rmw(0, 2), r.rmw(0, 3)]).toEqual([10, 20, 31, 42]);
  });

  it('lets a late pull with a surcharge use a gap only if the dearest pull plus it would fit', () => {
    // A same-socket pull costs 10, a remote one 30, plus 2 per RMW queued ahead.
    const socketOf = Uint8Array.of(0, 0, 1);
    const mk = () => new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 30, queuedNs: 2, socketOf });
    const a = mk();
    expect([a.rmw(0, 0), a.rmw(41, 0)]).toEqual([10, 42]); // a 31 ns gap [10, 41)
    // Issued at 5 with one RMW ahead: 10 + 2 would fit the gap, but 30 + 2 would not, so it goes
    // to the end, behind both (two ahead): 42 + 10 + 4.
    expect(a.rmw(5, 1)).toBe(56);
    const b = mk();
    expect([b.rmw(0, 0), b.rmw(41, 0), b.rmw(5, 2)]).toEqual([10, 42, 76]);
  });

  it('lets a store hit the line its CPU owns for free, and buffers one that pulls it from another CPU', () => {
    const e = new Engine({ profile: zeroProfile({ cacheLineLocalNs: 1, cacheLineTransferNs: 10 }), seed: 1 });
    const l = e.sharedLine('owner');
    const lock = e.sharedLine('lock');
    const ends: number[] = [];
    e.spawn('a', function* (t) {
      l.storeBy(t); // nobody had it: a transfer, 0-10, in the store buffer
      l.storeBy(t); // the first is still in flight: 10-11, buffered too
      ends.push(t.now); // the thread did not wait
      lock.rmwBy(t); // a locked RMW drains the buffer first (to 11), then takes its own line (11-21)
      ends.push(t.now);
      t.advance(100);
      yield;
      l.storeBy(t); // b took it at 50: pulled back (121-131), buffered
      ends.push(t.now);
    });
    e.spawn('b', function* (t) {
      t.advance(50);
      yield;
      l.storeBy(t); // 50-60, buffered
      t.advance(20);
      lock.rmwBy(t); // nothing left to drain at 70; pulls the lock's line from a
      ends.push(t.now);
    });
    e.run();
    expect(ends).toEqual([0, 21, 80, 121]);
    // The time waited for the buffer is the store's line's.
    expect(e.threads[0].acct[l.cat]).toBe(11);
    expect(e.threads[0].acct[lock.cat]).toBe(10);
    // Four accesses, none free; three of them moved the line.
    expect([l.accesses, l.transfers]).toEqual([4, 3]);
  });

  it('charges a load then a store from another CPU two transactions on the line, a local one nothing', () => {
    const e = new Engine({
      profile: zeroProfile({
        cacheLineLocalNs: 1,
        cacheLineTransferNs: 10,
        cacheLineRemoteNs: 30,
        sockets: 2,
      }),
      seed: 1,
    });
    const l = e.sharedLine('owner');
    const ends: number[] = [];
    const cpus = e.topology.cpus;
    e.spawn(
      'a',
      function* (t) {
        l.loadStoreBy(t); // nobody had it: one fill from memory (0-10), no copy to invalidate
        ends.push(t.now); // the core runs on past the load and the store
        t.advance(20);
        l.loadStoreBy(t); // owned and done: free
        ends.push(t.now);
        yield;
      },
      0,
      -1,
      0,
    );
    e.spawn(
      'b',
      function* (t) {
        t.advance(50);
        yield;
        l.loadStoreBy(t); // a's socket: a load from a, then the upgrade that invalidates a's copy (50-70)
        t.advance(50);
        yield;
        l.loadStoreBy(t); // still b's: free
        ends.push(t.now);
      },
      0,
      -1,
      1,
    );
    e.spawn(
      'c',
      function* (t) {
        t.advance(200);
        yield;
        l.loadStoreBy(t); // other socket: two cross-socket transactions (200-260)
        l.rmwBy(t); // a locked RMW waits for them, then finds the line its own
        ends.push(t.now);
      },
      0,
      -1,
      cpus / 2,
    );
    e.run();
    expect(ends).toEqual([0, 20, 100, 261]);
    // Six accesses, the free ones included; three moved the line, one across sockets.
    expect([l.accesses, l.transfers, l.remoteTransfers]).toEqual([6, 3, 1]);
  });

  it('serialises RMWs and charges a transfer when the owner changes', () => {
    const l = new CacheLine(costs);
    expect(l.rmw(0, 0)).toBe(10);
    expect(l.rmw(0, 1)).toBe(20);
    expect(l.rmw(0, 2)).toBe(30);
    expect(l.rmw(100, 2)).toBe(101);
    expect(l.transfers).toBe(3);
  });

  it('places an RMW issued earlier than later ones into the gap before them', () => {
    const l = new CacheLine(costs);
    expect(l.rmw(0, 0)).toBe(10);
    expect(l.rmw(1000, 0)).toBe(1001);
    // Issued at 0 after the RMW at 1000 was placed: it goes into the gap [10, 1000).
    expect(l.rmw(0, 1)).toBe(20);
    expect(l.rmw(0, 2)).toBe(30);
    // Issued at 995: does not fit before 1000, so it waits for the RMW at [1000, 1001).
    expect(l.rmw(995, 3)).toBe(1011);
  });

  it('charges a cross-socket pull more, and the same pull however many RMWs are queued', () => {
    // CPUs 0 and 2 on socket 0, CPU 1 on socket 1.
    const socketOf = Uint8Array.of(0, 1, 0);
    const l = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 30, socketOf });
    expect(l.rmw(0, 0)).toBe(10); // from nobody: an in-socket transfer
    expect(l.rmw(100, 1)).toBe(130); // from socket 0 to socket 1
    expect(l.rmw(200, 2)).toBe(230); // back to socket 0
    expect(l.rmw(300, 0)).toBe(310); // CPU 0 from CPU 2: same socket
    // A placed RMW far ahead, then two issued at 400: the second finds the first queued.
    expect(l.rmw(1000, 1)).toBe(1030);
    expect(l.rmw(400, 2)).toBe(410);
    expect(l.rmw(400, 0)).toBe(420); // after CPU 2's [400, 410): one transfer, nothing for the queue
    expect(l.transfers).toBe(7);
    expect(l.remoteTransfers).toBe(3);
    expect(l.accesses).toBe(7);
    // Waited: CPU 0's RMW issued at 400 started at 410; queued behind one RMW.
    expect(l.waitNs).toBe(10);
    expect(l.maxWaitNs).toBe(10);
    expect(l.maxQueue).toBe(1);
  });
});

/**
 * The same placement rules without the line's search structures (block summaries): every gap is
 * found by a linear scan, and nothing is ever forgotten. `CacheLine`, which forgets the RMWs that
 * ended by its horizon, must place every RMW exactly where this does.
 */
class ReferenceLine {
  private rec: Array<{ start: number; end: number; cpu: number }> = [];
  private tailFrom = 0;
  private oldestOwner = -1;
  private readonly cpuEnd = new Map<number, number>();

  constructor(private readonly c: LineCosts) {}

  private hop(prev: number, cpu: number): number {
    if (prev === cpu) return this.c.localNs;
    const so = this.c.socketOf;
    return so === null || prev < 0 || so[prev] === so[cpu] ? this.c.transferNs : this.c.remoteNs;
  }

  /** The narrowest gap any pull may use: the dearest pull (so no socket is favoured). */
  private pullGap(): number {
    const one = this.c.socketOf === null || this.c.socketOf.every((x) => x === 0);
    return one ? this.c.transferNs : Math.max(this.c.transferNs, this.c.remoteNs);
  }

  private fits(gap: number, prev: number, cpu: number): boolean {
    if (prev === cpu) return gap >= this.c.localNs;
    return gap >= this.pullGap() && this.hop(prev, cpu) <= gap;
  }

  rmw(at: number, cpu: number): number {
    const r = this.rec;
    const n = r.length;
    let start = at;
    let prev = this.oldestOwner;
    let i = n;
    if (n > 0 && at >= r[n - 1].end) {
      prev = r[n - 1].cpu;
      if (at - r[n - 1].end >= this.pullGap()) this.tailFrom = n;
    } else if (n === 0) this.tailFrom = 0;
    else {
      const lo = r.findIndex((x) => x.end > at);
      if (lo > 0) prev = r[lo - 1].cpu;
      i = n;
      if (this.fits(r[lo].start - at, prev, cpu)) i = lo;
      else if (lo < this.tailFrom) {
        const ownLater = (this.cpuEnd.get(cpu) ?? 0) > at;
        for (let k = lo + 1; k <= Math.min(n - 1, this.tailFrom); k++) {
          const gap = r[k].start - r[k - 1].end;
          const ok = ownLater
            ? this.fits(gap, r[k - 1].cpu, cpu)
            : gap >= this.pullGap() && this.hop(r[k - 1].cpu, cpu) <= gap;
          if (ok) {
            i = k;
            break;
          }
        }
      }
      if (i < n) {
        if (i > lo) {
          start = r[i - 1].end;
          prev = r[i - 1].cpu;
        }
        if (this.tailFrom >= i) this.tailFrom++;
      } else {
        start = r[n - 1].end;
        prev = r[n - 1].cpu;
      }
    }
    const end = start + this.hop(prev, cpu);
    r.splice(i, 0, { start, end, cpu });
    if (end > (this.cpuEnd.get(cpu) ?? 0)) this.cpuEnd.set(cpu, end);
    return end;
  }
}

describe('CacheLine against a linear-scan reference', () => {
  it('places every RMW as the reference does, across compactions, with late and early issues', () => {
    // Threads that each issue RMWs at rising times, processed in an order that lets some run ahead
    // (as threads that run critical sections in one step do): thousands of RMWs, so the calendar is
    // compacted many times with queued and late RMWs in it.
    const thread = fc.record({
      cpu: fc.integer({ min: 0, max: 7 }),
      think: fc.integer({ min: 0, max: 120 }),
    });
    fc.assert(
      fc.property(
        fc.array(thread, { minLength: 2, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 3000, maxLength: 3000 }),
        fc.boolean(),
        (threads, picks, twoSockets) => {
          const socketOf = twoSockets ? Uint8Array.of(0, 0, 0, 0, 1, 1, 1, 1) : null;
          const c: LineCosts = { localNs: 2, transferNs: 20, remoteNs: 45, socketOf };
          const clock = threads.map(() => 0);
          // No thread issues an RMW before its own clock: the earliest clock is the horizon.
          const line = new CacheLine(c, () => Math.min(...clock));
          const ref = new ReferenceLine(c);
          for (const pick of picks) {
            const k = pick % threads.length;
            const at = clock[k];
            const end = line.rmw(at, threads[k].cpu);
            expect(end).toBe(ref.rmw(at, threads[k].cpu));
            clock[k] = end + threads[k].think;
          }
        },
      ),
      { numRuns: 40, seed: 3, endOnFailure: true },
    );
  });

  it("tells whether an RMW followed the same CPU's previous one with no other CPU in between", () => {
    const line = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 10, socketOf: null });
    expect(line.rmw(0, 0)).toBe(10);
    // CPU 1 had asked first: it takes the line right after CPU 0's RMW.
    expect(line.rmw(10, 1)).toBe(20);
    // CPU 0's next access, issued when its first ended, comes after CPU 1's: a cmpxchg would fail.
    expect(line.rmw(10, 0)).toBe(30);
    expect([line.lastPrevCpu, line.lastPrevEnd]).toEqual([1, 20]);
    // Its next one follows its own at once (local): a cmpxchg would succeed.
    expect(line.rmw(30, 0)).toBe(31);
    expect([line.lastPrevCpu, line.lastPrevEnd]).toEqual([0, 30]);
  });

  it('remembers every RMW in flight behind a lagging thread (the calendar grows)', () => {
    const c: LineCosts = { localNs: 2, transferNs: 20, remoteNs: 20, socketOf: null };
    const line = new CacheLine(c, () => 0);
    const ref = new ReferenceLine(c);
    // CPUs 1 and 2 take turns with 30 ns between RMWs (a 10 ns gap after each pull, too narrow for
    // another), with a 100 ns gap after every 1000th; CPU 0 lags at time 0 (the horizon), so
    // nothing can be forgotten and the calendar must hold all 5000.
    let at = 0;
    for (let k = 0; k < 5000; k++) {
      const cpu = 1 + (k % 2);
      expect(line.rmw(at, cpu)).toBe(ref.rmw(at, cpu));
      at += k % 1000 === 999 ? 100 : 30;
    }
    // CPU 0's late RMW takes the first gap a pull fits, after the 1000th RMW ([29970, 29990)); its
    // next one follows it at once (a local RMW).
    expect(line.rmw(5, 0)).toBe(ref.rmw(5, 0));
    expect([line.lastPrevCpu, line.lastPrevEnd]).toEqual([2, 29_990]);
    expect(line.rmw(5, 0)).toBe(ref.rmw(5, 0));
    expect(line.lastPrevEnd).toBe(30_010);
  });

  it('forgets the RMWs that ended by the horizon but still knows who had the line last, and when', () => {
    const c: LineCosts = { localNs: 2, transferNs: 20, remoteNs: 20, socketOf: null };
    let horizon = 0;
    const line = new CacheLine(c, () => horizon);
    let at = 0;
    // 1023 RMWs fill the calendar (each a 20 ns pull from the other CPU); before the last, the
    // horizon moves to where it will end, so the compaction it triggers forgets every one.
    for (let k = 0; k < 1023; k++) {
      if (k === 1022) horizon = at + 20;
      at = line.rmw(at, k % 2);
    }
    // The next RMW by CPU 0, which did the last one: a local RMW right after it, as a cmpxchg that
    // follows its own access sees.
    expect(line.rmw(at, 0)).toBe(at + 2);
    expect([line.lastPrevCpu, line.lastPrevEnd]).toEqual([0, at]);
    // CPU 1 pulls it from CPU 0.
    expect(line.rmw(at + 2, 1)).toBe(at + 22);
    // An RMW issued before what the calendar forgot would be misplaced: the horizon lied, a bug.
    line.name = 'word';
    expect(() => line.rmw(at - 1, 1)).toThrow(
      `word: an RMW issued at ${at - 1} ns, before the horizon ${at} ns its calendar forgot up to`,
    );
  });
});
