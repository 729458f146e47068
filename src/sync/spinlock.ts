import type { CacheLine } from '../sim/cache-line.ts';
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { LockStats } from './lock-stats.ts';

/**
 * Queued spinlock (kernel/locking/qspinlock.c): FIFO hand-off, one atomic on the lock word per
 * acquisition and release, three for a contended acquisition. Same model as `QRwLock`: critical sections run in one step and the lock
 * records when it was last released; statistics count on the write side.
 */
export class SpinLock {
  readonly stats = new LockStats();
  readonly line: CacheLine;
  holder: SimThread | null = null;
  private freeAt = 0;

  private readonly waitCat: number;

  /** `cls` is the lock class (as lockdep names it) that time accounting groups instances by. */
  constructor(
    readonly engine: Engine,
    readonly name: string,
    cls = name,
  ) {
    this.line = engine.sharedLine(name, cls);
    this.waitCat = engine.categories.lock(cls);
    engine.locks.push(this);
  }

  lock(t: SimThread): void {
    if (this.holder !== null) throw new Error(`${this.name}: spin_lock while held across a yield`);
    const s = this.stats;
    s.writeAcquired++;
    if (t.now < this.freeAt) {
      // queued_spin_lock_slowpath: the fast path's cmpxchg failed; setting the pending bit (or
      // xchg_tail into the MCS queue) is the second atomic; the waiter then spins on its own MCS
      // node, and clear_pending_set_locked takes the line a third time once the holder is gone.
      this.line.rmwBy(t);
      this.line.rmwBy(t);
      const w = Math.max(0, this.freeAt - t.now);
      s.writeWait(w);
      const tr = this.engine.trace;
      if (tr !== null) tr.emit(t, 'lock_wait', { lock: this.name, side: 'write', ns: w }, this.freeAt);
      t.until(this.waitCat, this.freeAt);
    }
    this.line.rmwBy(t);
    this.holder = t;
  }

  unlock(t: SimThread): void {
    if (this.holder !== t) throw new Error(`${this.name}: spin_unlock by a thread that does not hold it`);
    this.line.rmwBy(t);
    this.holder = null;
    this.freeAt = t.now;
  }
}
