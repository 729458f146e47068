/**
 * Models the split PTE-table locks of include/linux/mm.h (ptlock_ptr, pte_offset_map_lock) where
 * a hold spans steps: spin_trylock (tryLock) and spin_unlock (unlock).
 */
import type { Engine } from '../sim/engine.ts';
import type { SimThread, Waitable } from '../sim/thread.ts';
import { LockStats } from '../sync/lock-stats.ts';

/** How many released holds are remembered (a walker runs at most one table ahead of the rest). */
const RECENT = 8;

/**
 * The split PTE-table locks of one mm (ptlock_ptr: one spinlock per PTE page, taken by
 * pte_offset_map_lock) where a hold spans more than one step of its thread: the MGLRU walker holds
 * a table's lock while it scans it (walk_pte_range). Only such holds are kept: the tables held now
 * and the last few released ones, with the time each was taken and released.
 *
 * A host page fault into a table (do_anonymous_page's pte_offset_map_lock) spins until the lock is
 * free: it parks while the holder is still inside, or, when the holder ran its whole hold in one
 * step, waits until the recorded release if the fault's time falls inside the hold.
 */
export class PteLocks implements Waitable {
  readonly name = 'ptl';
  readonly line = null;
  readonly stats = new LockStats();
  /** Tables held now and their holders. */
  private readonly heldTables: number[] = [];
  private readonly holders: SimThread[] = [];
  /** Released holds: table, taken at, released at (a ring). */
  private readonly recentTable = new Float64Array(RECENT).fill(-1);
  private readonly recentFrom = new Float64Array(RECENT);
  private readonly recentUntil = new Float64Array(RECENT);
  private recentNext = 0;
  /** When each held table was taken (parallel to heldTables). */
  private readonly heldFrom: number[] = [];
  private readonly waiters: SimThread[] = [];
  private readonly waitTables: number[] = [];

  /** Time categories: spinning on a held table, and the lock word's cache line. */
  readonly waitCat: number;
  private readonly lineCat: number;

  constructor(readonly engine: Engine) {
    this.waitCat = engine.categories.lock('ptl');
    this.lineCat = engine.categories.line('ptl');
    engine.locks.push(this);
  }

  /** spin_trylock(ptl) on PTE table `table`: fails if another thread holds it. */
  tryLock(t: SimThread, table: number): boolean {
    if (this.heldTables.includes(table) || this.busyUntil(table, t.now) > t.now) return false;
    t.until(this.lineCat, t.now + this.engine.profile.cacheLineTransferNs);
    this.heldTables.push(table);
    this.holders.push(t);
    this.heldFrom.push(t.now);
    this.stats.writeAcquired++;
    return true;
  }

  /** spin_unlock(ptl): records the hold and lets the threads spinning on the table go on. */
  unlock(t: SimThread, table: number): void {
    const i = this.heldTables.indexOf(table);
    if (i < 0 || this.holders[i] !== t) throw new Error(`ptl of table ${table}: unlock by a non-holder`);
    t.until(this.lineCat, t.now + this.engine.profile.cacheLineLocalNs);
    const r = this.recentNext++ % RECENT;
    this.recentTable[r] = table;
    this.recentFrom[r] = this.heldFrom[i];
    this.recentUntil[r] = t.now;
    this.heldTables.splice(i, 1);
    this.holders.splice(i, 1);
    this.heldFrom.splice(i, 1);
    const seenAt = t.now + this.engine.profile.cacheLineTransferNs;
    let keep = 0;
    for (let k = 0; k < this.waiters.length; k++) {
      const w = this.waiters[k];
      if (this.waitTables[k] === table) {
        this.stats.writeWait(seenAt - w.waitStart);
        const tr = this.engine.trace;
        if (tr !== null)
          tr.emit(w, 'lock_wait', { lock: 'ptl', side: 'write', ns: seenAt - w.waitStart }, seenAt);
        this.engine.wake(w, seenAt, true);
      } else {
        this.waiters[keep] = w;
        this.waitTables[keep++] = this.waitTables[k];
      }
    }
    this.waiters.length = keep;
    this.waitTables.length = keep;
  }

  /**
   * Whether any table is held by another thread, or a recorded hold covers `t`'s time: only then
   * can a fault have to wait (a cheap test before looking up the fault's table).
   */
  anyBusy(t: SimThread): boolean {
    for (let i = 0; i < this.holders.length; i++) if (this.holders[i] !== t) return true;
    for (let r = 0; r < RECENT; r++)
      if (this.recentTable[r] >= 0 && this.recentFrom[r] <= t.now && t.now < this.recentUntil[r]) return true;
    return false;
  }

  /** Whether another thread holds `table` right now (the caller must `yield ptl.wait(t, table)`). */
  heldByOther(t: SimThread, table: number): boolean {
    const i = this.heldTables.indexOf(table);
    return i >= 0 && this.holders[i] !== t;
  }

  /** `yield ptl.wait(t, table)`: spins until the holder of `table` unlocks it. */
  wait(t: SimThread, table: number): void {
    t.request(this, 0, table);
  }

  perform(t: SimThread, _op: number, table: number): boolean {
    if (!this.heldByOther(t, table)) return true;
    t.waitStart = t.now;
    this.waiters.push(t);
    this.waitTables.push(table);
    return false;
  }

  /**
   * A fault at `t`'s time into `table` that finds a recorded hold around it spins until its
   * release: advances `t` there and returns the time waited.
   */
  waitRecorded(t: SimThread, table: number): number {
    const until = this.busyUntil(table, t.now);
    if (until <= t.now) return 0;
    const waited = until + this.engine.profile.cacheLineTransferNs - t.now;
    this.stats.writeWait(waited);
    t.until(this.waitCat, t.now + waited);
    const tr = this.engine.trace;
    if (tr !== null) tr.emit(t, 'lock_wait', { lock: 'ptl', side: 'write', ns: waited });
    return waited;
  }

  /** Release time of a recorded hold of `table` that covers `at`, else 0. */
  private busyUntil(table: number, at: number): number {
    for (let r = 0; r < RECENT; r++)
      if (this.recentTable[r] === table && this.recentFrom[r] <= at && at < this.recentUntil[r])
        return this.recentUntil[r];
    return 0;
  }
}
