import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { CacheLine } from './cache-line.ts';
import { LockStats } from './lock-stats.ts';

/**
 * Reader-writer lock with Linux qrwlock ordering (kernel/locking/qrwlock.c), for critical sections
 * that run without a sync point inside (as kernel code under a spinning lock cannot sleep).
 *
 * Model: a critical section runs to completion in one step of its thread, and the lock records
 * until when it was held, per side. An acquisition waits (spins) until that time: a reader until the
 * last writer left, a writer until every earlier holder left. Operations arrive in time order, so
 * this is the qrwlock order: readers share; a reader that arrives while a writer waits enters after
 * that writer (the writer's hold is already recorded); every acquisition and release is an atomic
 * on the lock word's cache line (`CacheLine`), which serialises contenders.
 * With `sleeping`, the same lock stands for an rwsem (mmap_lock, anon_vma->rwsem).
 */
export class QRwLock {
  readonly stats = new LockStats();
  readonly line: CacheLine;
  /** Readers inside right now (only the running thread can be inside). */
  readers = 0;
  /** Writer inside right now. */
  writer: SimThread | null = null;
  private writerFreeAt = 0;
  private readersFreeAt = 0;

  constructor(
    readonly engine: Engine,
    readonly name: string,
    readonly sleeping = false,
  ) {
    this.line = new CacheLine(engine.lineCosts);
  }

  /** read_lock: waits for the last writer, then adds a reader. */
  readLock(t: SimThread): void {
    if (this.writer !== null) throw new Error(`${this.name}: read_lock while held for write across a yield`);
    const s = this.stats;
    s.readAcquired++;
    let at = t.now;
    if (at < this.writerFreeAt) {
      s.readContended++;
      s.readWaitNs += this.writerFreeAt - at;
      this.traceWait(t, 'read', this.writerFreeAt - at);
      at = this.writerFreeAt;
    }
    t.now = this.line.rmw(at, t.cpu);
    this.readers++;
  }

  /** read_trylock / down_read_trylock: takes the lock only if no writer holds it at `t`'s time. */
  tryReadLock(t: SimThread): boolean {
    if (this.writer !== null || t.now < this.writerFreeAt) return false;
    this.readLock(t);
    return true;
  }

  readUnlock(t: SimThread): void {
    if (this.readers <= 0) throw new Error(`${this.name}: read_unlock without a reader`);
    t.now = this.line.rmw(t.now, t.cpu);
    this.readers--;
    if (t.now > this.readersFreeAt) this.readersFreeAt = t.now;
  }

  /** write_lock: waits until every earlier reader and writer has left. */
  writeLock(t: SimThread): void {
    if (this.writer !== null || this.readers > 0)
      throw new Error(`${this.name}: write_lock while held across a yield`);
    const s = this.stats;
    s.writeAcquired++;
    const free = Math.max(this.writerFreeAt, this.readersFreeAt);
    let at = t.now;
    if (at < free) {
      s.writeContended++;
      s.writeWaitNs += free - at;
      this.traceWait(t, 'write', free - at);
      at = free;
    }
    t.now = this.line.rmw(at, t.cpu);
    this.writer = t;
  }

  private traceWait(t: SimThread, side: 'read' | 'write', ns: number): void {
    t.lockWaitNs += ns;
    const tr = this.engine.trace;
    if (tr !== null) tr.emit(t, 'lock_wait', { lock: this.name, side, ns }, t.now + ns);
  }

  writeUnlock(t: SimThread): void {
    if (this.writer !== t) throw new Error(`${this.name}: write_unlock by a thread that does not hold it`);
    t.now = this.line.rmw(t.now, t.cpu);
    this.writer = null;
    this.writerFreeAt = t.now;
  }
}
