import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { QRwLock } from './rwlock.ts';
import type { SpinLock } from './spinlock.ts';

const profile = zeroProfile({ cacheLineLocalNs: 1, cacheLineTransferNs: 10 });

/** A thread that waits until `start`, then holds the lock for `hold` ns, logging entry and exit. */
function* holder(t: SimThread, lock: QRwLock, write: boolean, start: number, hold: number, log: string[]) {
  t.advance(start);
  yield;
  if (write) lock.writeLock(t);
  else lock.readLock(t);
  log.push(`${t.name}+${t.now}`);
  t.advance(hold);
  if (write) lock.writeUnlock(t);
  else lock.readUnlock(t);
  log.push(`${t.name}-${t.now}`);
}

describe('QRwLock', () => {
  it('queues a reader behind a waiting writer (qrwlock fairness)', () => {
    const e = new Engine({ profile, seed: 1 });
    const lock = new QRwLock(e, 'l');
    const log: string[] = [];
    e.spawn('R1', (t) => holder(t, lock, false, 0, 100, log));
    e.spawn('W', (t) => holder(t, lock, true, 20, 50, log));
    e.spawn('R2', (t) => holder(t, lock, false, 40, 10, log));
    e.run();
    // R1 pulls the line (10) and leaves at 111. W arrives at 20: its failed cmpxchg pulls the line
    // (to 30), it takes wait_lock (its line pulled: 40), sets _QW_WAITING on the line it owns (41),
    // spins until 111, its cmpxchg to _QW_LOCKED pulls the line (121) and it unlocks wait_lock
    // (122). R2 arrived at 40: its add and sub take the line (51, 52); wait_lock is W's, so it
    // queues (two atomics on wait_lock's line, 63) until 122 and takes it (132), adds its bias
    // (142), spins while W holds the lock (31 ns, to 173), reads the line W's unlock took back
    // (183) and unlocks wait_lock (184).
    expect(log).toEqual(['R1+10', 'R1-111', 'W+122', 'W-173', 'R2+184', 'R2-195']);
    expect(lock.stats.writeContended).toBe(1);
    expect(lock.stats.writeWaitNs).toBe(111 - 41);
    expect(lock.stats.readContended).toBe(1);
    expect(lock.stats.readWaitNs).toBe(173 - 142);
    // R1: lock and unlock; W: four atomics on the lock word; R2: add, sub, add, read, unlock.
    expect(lock.line.accesses).toBe(2 + 4 + 5);
    // wait_lock: W's lock and unlock; R2's three atomics of a contended qspinlock and its unlock.
    const waitLock = e.locks.find((l) => l.name === 'l.wait_lock') as SpinLock;
    expect([waitLock.line.accesses, waitLock.stats.writeWaitNs]).toEqual([2 + 4, 122 - 63]);
    expect(lock.stats.readAcquired).toBe(2);
  });

  it('down_read_trylock: 5.2-5.15 fails its first cmpxchg while a reader is inside, 5.16+ reads first', () => {
    const run = (flavour: 'read-first' | 'expect-unlocked') => {
      const e = new Engine({ profile, seed: 1 });
      const lock = new QRwLock(e, 'l', true);
      const log: string[] = [];
      e.spawn('R1', (t) => holder(t, lock, false, 0, 1000, log));
      let got = false;
      e.spawn('B', function* (t) {
        t.advance(40);
        yield;
        got = lock.tryReadLock(t, flavour);
        log.push(`B+${t.now}`);
        lock.readUnlock(t);
      });
      e.run();
      return { got, log, failed: lock.stats.cmpxchgFailed, rmws: lock.line.accesses };
    };
    // R1 holds [10, 1011). expect-unlocked: B's cmpxchg pulls the line (40-50) and fails, since R1
    // is inside; the retry with the returned count follows at once on the line B owns (50-51).
    expect(run('expect-unlocked')).toEqual({
      got: true,
      log: ['R1+10', 'R1-1011', 'B+51'],
      failed: 1,
      rmws: 5,
    });
    // read-first: the read pulls the line (40-50), the cmpxchg from that value is local (50-51).
    expect(run('read-first')).toEqual({ got: true, log: ['R1+10', 'R1-1011', 'B+51'], failed: 0, rmws: 5 });
  });

  it('an rwsem forgets the finished read holds the engine is past (no trylock looking at them)', () => {
    const e = new Engine({ profile, seed: 1 });
    const lock = new QRwLock(e, 'l', true);
    const most = [0];
    const reader = function* (t: SimThread) {
      // 5 000 read holds each, the two threads taking turns as their times pass each other.
      for (let i = 0; i < 5_000; i++) {
        if (t.mustSync()) yield;
        lock.readLock(t);
        t.advance(5);
        lock.readUnlock(t);
        most[0] = Math.max(most[0], lock['holdEnds'].length);
      }
    };
    e.spawn('R1', reader);
    e.spawn('R2', reader);
    e.run();
    // 10 000 holds ended, but at most 63 were remembered after any release: when the 64th is, those
    // that ended before the engine's time (all but the running step's) are forgotten.
    expect(lock.stats.readAcquired).toBe(10_000);
    expect(most[0]).toBe(63);
    expect(lock['pruneAt']).toBe(64);
  });

  it('down_read_trylock gives up after one access when a writer waits (RWSEM_FLAG_WAITERS)', () => {
    const e = new Engine({ profile, seed: 1 });
    const lock = new QRwLock(e, 'l', true);
    let got = true;
    e.spawn('B', function* (t) {
      yield;
      got = lock.tryReadLock(t, 'read-first', true);
    });
    e.run();
    expect([got, lock.line.accesses, lock.stats.readAcquired, lock.readers]).toEqual([false, 1, 0, 0]);
  });

  it('lets readers share, one line transfer each', () => {
    const e = new Engine({ profile, seed: 1 });
    const lock = new QRwLock(e, 'l');
    const log: string[] = [];
    for (let i = 0; i < 3; i++) e.spawn(`R${i}`, (t) => holder(t, lock, false, 0, 1000, log));
    e.run();
    expect(log.filter((s) => s.includes('+'))).toEqual(['R0+10', 'R1+20', 'R2+30']);
    expect(lock.stats.readContended).toBe(0);
    expect(lock.readers).toBe(0);
  });

  it('stores sem->owner on a line of its own: each reader loads and stores it, a writer sets and clears it', () => {
    const e = new Engine({ profile, seed: 1 });
    const lock = new QRwLock(e, 'l', true);
    lock.ownerLine = e.sharedLine('l.owner');
    const log: string[] = [];
    // Three readers on three CPUs, each a count RMW (10) then __rwsem_set_reader_owned's load and
    // store of the owner line: R0 fills it from memory (10-20, no copy to invalidate); R1's count
    // RMW runs 10-20, its load pulls a copy from R0's CPU and its store invalidates that copy (two
    // transactions, 20-40); R2's count RMW runs 20-30 and its owner access waits for R1's (40-60).
    // The load's value feeds only the store: each reader runs on from its count RMW, and only its
    // next locked RMW (the unlock's, at 1000 and later) would wait for them.
    for (let i = 0; i < 3; i++) e.spawn(`R${i}`, (t) => holder(t, lock, false, 0, 1000, log));
    e.spawn('W', (t) => holder(t, lock, true, 2000, 100, log));
    e.run();
    expect(log.filter((s) => s.includes('+'))).toEqual(['R0+10', 'R1+20', 'R2+30', 'W+2010']);
    // 3 reader stores and the writer's rwsem_set_owner pull the line; rwsem_clear_owner finds it
    // owned (free), and the unlock's RMW is on the count line the writer owns (1): 5 accesses.
    expect([lock.ownerLine.accesses, lock.ownerLine.transfers]).toEqual([5, 4]);
    // The writer's set_owner store (2010-2020) was done long before its unlock at 2110.
    expect(log.at(-1)).toBe('W-2111');
  });

  it('charges nothing for the owner store when owner shares the count line (ownerLine null)', () => {
    const e = new Engine({ profile, seed: 1 });
    const lock = new QRwLock(e, 'l', true);
    const log: string[] = [];
    for (let i = 0; i < 3; i++) e.spawn(`R${i}`, (t) => holder(t, lock, false, 0, 1000, log));
    e.run();
    expect(log.filter((s) => s.includes('+'))).toEqual(['R0+10', 'R1+20', 'R2+30']);
  });

  it('never lets a writer in with any other holder (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            write: fc.boolean(),
            start: fc.nat(300),
            hold: fc.nat(60),
            gap: fc.nat(40),
            n: fc.integer({ min: 1, max: 3 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (specs) => {
          const e = new Engine({ profile, seed: 7 });
          const lock = new QRwLock(e, 'l');
          const holds: Array<{ write: boolean; from: number; to: number }> = [];
          specs.forEach((s, i) => {
            e.spawn(`T${i}`, function* (t) {
              t.advance(s.start);
              for (let k = 0; k < s.n; k++) {
                yield;
                if (s.write) lock.writeLock(t);
                else lock.readLock(t);
                const from = t.now;
                t.advance(s.hold);
                holds.push({ write: s.write, from, to: t.now });
                if (s.write) lock.writeUnlock(t);
                else lock.readUnlock(t);
                t.advance(s.gap);
              }
            });
          });
          e.run();
          for (const w of holds) {
            if (!w.write) continue;
            for (const o of holds) if (o !== w && o.from < w.to && w.from < o.to) return false;
          }
          return (
            holds.length === specs.reduce((a, s) => a + s.n, 0) && lock.readers === 0 && lock.writer === null
          );
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
