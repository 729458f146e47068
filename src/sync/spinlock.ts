import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { CacheLine } from './cache-line.ts';
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

  constructor(
    readonly engine: Engine,
    readonly name: string,
  ) {
    this.line = new CacheLine(engine.lineCosts);
  }

  lock(t: SimThread): void {
    if (this.holder !== null) throw new Error(`${this.name}: spin_lock while held across a yield`);
    const s = this.stats;
    s.writeAcquired++;
    let at = t.now;
    if (at < this.freeAt) {
      s.writeContended++;
      s.writeWaitNs += this.freeAt - at;
      t.lockWaitNs += this.freeAt - at;
      const tr = this.engine.trace;
      if (tr !== null)
        tr.emit(t, 'lock_wait', { lock: this.name, side: 'write', ns: this.freeAt - at }, this.freeAt);
      at = this.freeAt;
    }
    t.now = this.line.rmw(at, t.cpu);
    this.holder = t;
  }

  unlock(t: SimThread): void {
    if (this.holder !== t) throw new Error(`${this.name}: spin_unlock by a thread that does not hold it`);
    t.now = this.line.rmw(t.now, t.cpu);
    this.holder = null;
    this.freeAt = t.now;
  }
}
