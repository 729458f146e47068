/**
 * Models mmap_lock as the rwsem of kernel/locking/rwsem.c where its holds span steps (munmap, a
 * huge fault through its clear).
 */
import type { SimThread } from '../sim/thread.ts';
import type { TrylockFlavour } from '../sync/rwlock.ts';
import { WaitCount } from '../sync/wait-count.ts';
import type { Mm } from './mm.ts';

/**
 * The rwsem side of mmap_lock (kernel/locking/rwsem.c) that spans steps, on top of `Mm.mmapLock`
 * (a `QRwLock`, whose holds last one step): munmap holds it for read across the whole zap after
 * mmap_write_downgrade (__do_munmap), a fault may hold it for read across steps (`holdFault`), and
 * a writer that finds such a reader sleeps until it leaves.
 * While a writer waits, the count has RWSEM_FLAG_WAITERS set: a new reader fails the fast path,
 * and rwsem_down_read_slowpath queues it (no lock stealing while readers own the lock) until the
 * writer is done; queued tasks sleep and are woken (`wakeupNs`).
 *
 * Protocol: a writer announces itself (`writeLock`), waits until no munmap reader is left, then
 * takes `mmapLock` for write in one step; `downgradeWrite` turns that into a long read hold and
 * lets the queued readers go; `faultReadLock` waits while writers are queued.
 */
export class MmapSem {
  /** munmap holders of the read side across steps (after a downgrade). */
  readonly zappers: WaitCount;
  /** Faults holding the read side across steps (`holdFault`). */
  readonly faulters: WaitCount;
  /** Writers that announced themselves and have not yet released or downgraded. */
  readonly writers: WaitCount;
  /** Readers (faults) that had to queue behind a writer, and writers that waited for a zap. */
  readerQueued = 0;
  writerQueued = 0;

  constructor(readonly mm: Mm) {
    this.zappers = new WaitCount(mm.host.engine, false, 'mmap_lock (writer waits for munmap)');
    this.faulters = new WaitCount(mm.host.engine, false, 'mmap_lock (writer waits for a fault)');
    this.writers = new WaitCount(mm.host.engine, false, 'mmap_lock (reader queued behind writer)');
  }

  /** Which down_read_trylock a fault's mmap_read_trylock runs (the kernel version's). */
  trylockFlavour: TrylockFlavour = 'read-first';

  /**
   * do_user_addr_fault's mmap_read_trylock, and mmap_read_lock if it fails: queues (sleeps) while
   * a writer waits or holds, then takes the lock. The caller releases it with
   * `mm.mmapLock.readUnlock` in the same step.
   */
  *faultReadLock(t: SimThread): Generator<void, void, void> {
    if (t.mustSync()) yield;
    if (this.mm.mmapLock.tryReadLock(t, this.trylockFlavour, this.writers.value > 0)) return;
    let queued = false;
    while (this.writers.value > 0) {
      queued = true;
      yield this.writers.waitZero(t);
    }
    if (queued) this.readerQueued++;
    this.mm.mmapLock.readLock(t);
  }

  /**
   * The fault's read hold (taken by `faultReadLock`) now spans steps, as a rwsem reader may sleep
   * or run long: writers wait for it as for a munmap. Release with `readUnlockFault`.
   */
  holdFault(t: SimThread): void {
    this.faulters.add(t, 1);
  }

  /** mmap_read_unlock of a fault that held the lock across steps (`holdFault`). */
  readUnlockFault(t: SimThread): void {
    this.mm.mmapLock.readUnlock(t);
    this.faulters.add(t, -1);
  }

  /** mmap_write_lock: waits for every reader held across steps, then holds the lock (release or downgrade it). */
  *writeLock(t: SimThread): Generator<void, void, void> {
    if (t.mustSync()) yield;
    this.writers.add(t, 1);
    let queued = false;
    for (;;) {
      const held = this.zappers.value > 0 ? this.zappers : this.faulters.value > 0 ? this.faulters : null;
      if (held === null) break;
      queued = true;
      yield held.waitZero(t);
    }
    if (queued) this.writerQueued++;
    this.mm.mmapLock.writeLock(t);
  }

  /** mmap_write_unlock: wakes the readers queued behind this writer. */
  writeUnlock(t: SimThread): void {
    this.mm.mmapLock.writeUnlock(t);
    this.writers.add(t, -1);
  }

  /**
   * mmap_write_downgrade: the writer becomes a reader that may hold the lock across steps; the
   * queued readers may go. (One atomic in the kernel; the model's release and read acquisition
   * take two on the lock word.)
   */
  downgradeWrite(t: SimThread): void {
    this.mm.mmapLock.writeUnlock(t);
    this.mm.mmapLock.readLock(t);
    this.zappers.add(t, 1);
    this.writers.add(t, -1);
  }

  /** mmap_read_unlock after a downgrade: wakes the writers that waited for it. */
  readUnlockDowngraded(t: SimThread): void {
    this.mm.mmapLock.readUnlock(t);
    this.zappers.add(t, -1);
  }
}
