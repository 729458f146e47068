import type { CacheLine } from '../sim/cache-line.ts';
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { LockStats } from './lock-stats.ts';
import { SpinLock } from './spinlock.ts';

/** Which __down_read_trylock (kernel/locking/rwsem.c): see `QRwLock.tryReadLock`. */
export type TrylockFlavour = 'read-first' | 'expect-unlocked';

/**
 * Reader-writer lock with Linux qrwlock ordering (kernel/locking/qrwlock.c), for critical sections
 * that run without a sync point inside (as kernel code under a spinning lock cannot sleep).
 *
 * Model: a critical section runs to completion in one step of its thread, and the lock records
 * until when it was held, per side. An acquisition waits (spins) until that time: a reader until the
 * last writer left, a writer until every earlier holder left. Operations arrive in time order, so
 * this is the qrwlock order: readers share; a reader that arrives while a writer waits enters after
 * that writer (the writer's hold is already recorded); every acquisition and release is an atomic
 * on the lock word's cache line (`CacheLine`), which serialises contenders. A contended acquisition
 * takes three atomics, as the slow paths do (the failed fast path, announcing itself, acquiring);
 * waiters then spin on the qspinlock `wait_lock`, not on the lock word.
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
  /** When the current writer got the lock. */
  private writeSince = 0;
  /** Time the lock has been held for write, in total (lock_stat's write holdtime-total). */
  writeHeldNs = 0;

  /**
   * qrwlock's wait_lock, the qspinlock its slow paths queue on (null for an rwsem, whose waiters
   * sleep on a wait list instead).
   */
  private waitLock: SpinLock | null = null;

  /** Time category of waits for this lock (its lock class). */
  private readonly waitCat: number;

  /**
   * For an rwsem: the cache line of `sem->owner` when it is not the count's line (null: the same
   * line, or no owner field). Every read acquisition stores it (rwsem_set_reader_owned, an
   * unconditional atomic_long_set after the count's atomic), and a writer sets and clears it
   * (rwsem_set_owner, rwsem_clear_owner). On the count's own line that store follows the atomic
   * while the CPU owns the line and costs nothing worth charging; on a line of its own it needs
   * that line exclusive, pulled from the CPU that stored last. The store waits in the store buffer
   * until the next locked instruction, a few hundred nanoseconds later on these paths; the model
   * charges its transfer at once.
   */
  ownerLine: CacheLine | null = null;

  /** `cls` is the lock class (as lockdep names it) that time accounting groups instances by. */
  constructor(
    readonly engine: Engine,
    readonly name: string,
    readonly sleeping = false,
    cls = name,
  ) {
    this.line = engine.sharedLine(name, cls);
    if (sleeping) this.holdsFrom = new Float64Array(8).fill(Number.NaN);
    else this.waitLock = new SpinLock(engine, `${name}.wait_lock`, `${cls}.wait_lock`);
    this.waitCat = engine.categories.lock(cls);
    engine.locks.push(this);
  }

  /** read_lock: waits for the last writer, then adds a reader. */
  readLock(t: SimThread): void {
    if (this.writer !== null) throw new Error(`${this.name}: read_lock while held for write across a yield`);
    const s = this.stats;
    s.readAcquired++;
    if (t.now < this.writerFreeAt) {
      // queued_read_lock_slowpath: the fast path's atomic_add_return saw a writer, atomic_sub takes
      // the reader bias back; the reader queues and adds it again once the writer is gone.
      this.line.rmwBy(t);
      this.line.rmwBy(t);
      const wl = this.waitLock;
      let w = 0;
      if (wl !== null) {
        // arch_spin_lock(&lock->wait_lock): waiters pass one at a time (that wait is wait_lock's);
        // each adds its bias and spins on the count (the head until the writer leaves), then
        // unlocks wait_lock.
        wl.lock(t);
        this.line.rmwBy(t);
        if (t.now < this.writerFreeAt) {
          w = this.spinFor(t, 'read', this.writerFreeAt);
          // The writer's unlock took the line from under the spinning head: it reads it back.
          this.line.rmwBy(t);
        }
        wl.unlock(t);
      } else {
        w = this.spinFor(t, 'read', this.writerFreeAt);
        this.line.rmwBy(t);
      }
      s.readWait(w);
    } else this.line.rmwBy(t);
    this.setReaderOwned(t);
    this.enteredRead(t);
  }

  /** rwsem_set_owner / rwsem_clear_owner: a store to `sem->owner`. */
  private setOwner(t: SimThread): void {
    if (this.ownerLine !== null) this.ownerLine.storeBy(t);
  }

  /**
   * rwsem_set_reader_owned: __rwsem_set_reader_owned reads `sem->owner` (to keep its
   * RWSEM_NONSPINNABLE bit) and then stores it, a load and a store to the owner line.
   */
  private setReaderOwned(t: SimThread): void {
    if (this.ownerLine !== null) this.ownerLine.loadStoreBy(t);
  }

  /**
   * down_read_trylock (`sleeping`) or read_trylock: takes the lock only if no writer holds or waits
   * for it (`writerWaits`: a writer queued elsewhere, RWSEM_FLAG_WAITERS). The rwsem's
   * __down_read_trylock is a cmpxchg loop on the count: since 5.16 (`read-first`, 14c240488411) it
   * reads the count and cmpxchg's from that value; from 5.2 to 5.15 (`expect-unlocked`, ddb20d1d3aed) the first cmpxchg assumes
   * RWSEM_UNLOCKED_VALUE, so it fails whenever another reader is inside. Each failed cmpxchg
   * returns the current count and the loop retries with it, until one succeeds (no other CPU
   * changed the count in between) or the count shows a writer. Every read and cmpxchg is an access
   * to the lock word's line. The loop runs in one step: a retry, a few cycles after the failed
   * cmpxchg left the line in this CPU's cache, goes before RMWs that threads behind this one issue
   * while it runs (making each retry wait for them, a sync point, put the Broadwell 16-thread
   * page_fault1 row at 0.31x the published rate and the 48-thread row in a livelock).
   */
  tryReadLock(t: SimThread, flavour: TrylockFlavour = 'read-first', writerWaits = false): boolean {
    const line = this.line;
    const blocked = () => writerWaits || this.writer !== null || t.now < this.writerFreeAt;
    let ok: boolean;
    if (flavour === 'read-first') {
      // atomic_long_read(&sem->count), then the first cmpxchg from that value.
      line.rmwBy(t);
      if (blocked()) return false;
      ok = line.rmwFollowsBy(t);
    } else {
      line.rmwBy(t);
      ok = !blocked() && !this.othersInsideAt(t, t.now);
      if (blocked()) return false;
    }
    while (!ok) {
      this.stats.cmpxchgFailed++;
      ok = line.rmwFollowsBy(t);
      if (!ok && blocked()) return false;
    }
    this.stats.readAcquired++;
    this.setReaderOwned(t);
    this.enteredRead(t);
    return true;
  }

  readUnlock(t: SimThread): void {
    if (this.readers <= 0) throw new Error(`${this.name}: read_unlock without a reader`);
    this.line.rmwBy(t);
    this.readers--;
    if (t.now > this.readersFreeAt) this.readersFreeAt = t.now;
    if (this.holdsFrom !== null) this.leftRead(t);
  }

  /**
   * Read holds, for `expect-unlocked` trylocks: when each thread's current hold began (its
   * acquiring RMW's end, NaN: none) and the [begin, end) of finished holds still ending after the
   * current step. Kept for rwsems (`sleeping`).
   */
  private holdsFrom: Float64Array | null = null;
  private holdEnds: number[] = [];
  private holdBegins: number[] = [];

  private enteredRead(t: SimThread): void {
    this.readers++;
    const h = this.holdsFrom;
    if (h === null) return;
    if (t.id >= h.length) {
      const g = new Float64Array(Math.max(t.id + 1, h.length * 2)).fill(Number.NaN);
      g.set(h);
      this.holdsFrom = g;
    }
    this.holdsFrom![t.id] = t.now;
  }

  private leftRead(t: SimThread): void {
    const h = this.holdsFrom!;
    if (t.id < h.length && !Number.isNaN(h[t.id])) {
      this.holdBegins.push(h[t.id]);
      this.holdEnds.push(t.now);
      h[t.id] = Number.NaN;
      if (this.holdEnds.length >= this.pruneAt) this.pruneHolds();
    }
  }

  /** `holdEnds` length at which `leftRead` forgets the finished holds no trylock can see any more. */
  private pruneAt = 64;

  /**
   * Forgets the finished holds that ended by `earliestFutureTime`: no trylock comes earlier, so
   * none can find them inside. Without this, every read hold of an rwsem no `expect-unlocked`
   * trylock looks at stayed remembered (277 M `anon_vma` holds in a 16 GiB page_idle run: more
   * than a JavaScript array holds).
   */
  private pruneHolds(): void {
    const B = this.holdBegins;
    const E = this.holdEnds;
    const now = this.engine.earliestFutureTime();
    let k = 0;
    for (let i = 0; i < E.length; i++) {
      if (E[i] <= now) continue;
      B[k] = B[i];
      E[k] = E[i];
      k++;
    }
    B.length = k;
    E.length = k;
    this.pruneAt = Math.max(64, 2 * k);
  }

  /**
   * Whether the count held another reader at `time`: a hold begun and not ended then. Holds of
   * threads whose step runs later are not known yet (the model's usual approximation).
   */
  private othersInsideAt(t: SimThread, time: number): boolean {
    const h = this.holdsFrom;
    if (h === null) throw new Error(`${this.name}: an expect-unlocked trylock needs an rwsem`);
    let inside = false;
    for (let id = 0; id < h.length; id++) if (id !== t.id && h[id] <= time) inside = true;
    this.pruneHolds();
    const B = this.holdBegins;
    const E = this.holdEnds;
    for (let i = 0; i < E.length; i++) if (B[i] <= time && time < E[i]) inside = true;
    return inside;
  }

  /** write_lock: waits until every earlier reader and writer has left. */
  writeLock(t: SimThread): void {
    if (this.writer !== null || this.readers > 0)
      throw new Error(`${this.name}: write_lock while held across a yield`);
    const s = this.stats;
    s.writeAcquired++;
    const free = () => Math.max(this.writerFreeAt, this.readersFreeAt);
    if (t.now < free()) {
      // queued_write_lock_slowpath: the fast path's cmpxchg failed; under wait_lock (behind the
      // waiters before it) atomic_or sets _QW_WAITING; the cmpxchg to _QW_LOCKED comes once the
      // holders are gone, and wait_lock is unlocked.
      this.line.rmwBy(t);
      const wl = this.waitLock;
      if (wl !== null) wl.lock(t);
      this.line.rmwBy(t);
      s.writeWait(this.spinFor(t, 'write', free()));
      this.line.rmwBy(t);
      if (wl !== null) wl.unlock(t);
    } else this.line.rmwBy(t);
    this.setOwner(t);
    this.writer = t;
    this.writeSince = t.now;
  }

  /** Spins on the lock word until `time` (charged to the lock's class); returns the time spun. */
  private spinFor(t: SimThread, side: 'read' | 'write', time: number): number {
    const ns = Math.max(0, time - t.now);
    const tr = this.engine.trace;
    if (tr !== null) tr.emit(t, 'lock_wait', { lock: this.name, side, ns }, t.now + ns);
    t.until(this.waitCat, time);
    return ns;
  }

  writeUnlock(t: SimThread): void {
    if (this.writer !== t) throw new Error(`${this.name}: write_unlock by a thread that does not hold it`);
    this.setOwner(t);
    this.line.rmwBy(t);
    this.writer = null;
    this.writerFreeAt = t.now;
    this.writeHeldNs += t.now - this.writeSince;
  }
}
