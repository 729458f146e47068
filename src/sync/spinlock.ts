import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import type { CacheLine } from './cache-line.ts';
import { LockStats } from './lock-stats.ts';

/**
 * Queued spinlock (kernel/locking/qspinlock.c): FIFO hand-off, one atomic on the lock word per
 * acquisition and release. Same model as `QRwLock`: critical sections run in one step and the lock
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
      s.writeWait(this.freeAt - t.now);
      t.lockWaitNs += this.freeAt - t.now;
      t.until(this.waitCat, this.freeAt);
    }
    t.until(this.line.cat, this.line.rmw(t.now, t.cpu));
    this.holder = t;
  }

  unlock(t: SimThread): void {
    if (this.holder !== t) throw new Error(`${this.name}: spin_unlock by a thread that does not hold it`);
    t.until(this.line.cat, this.line.rmw(t.now, t.cpu));
    this.holder = null;
    this.freeAt = t.now;
  }
}
