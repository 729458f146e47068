/**
 * Models RCU and SRCU as grace periods over read-side sections: rcu_read_lock, synchronize_rcu,
 * call_rcu (kernel/rcu/tree.c), srcu_read_lock, synchronize_srcu_expedited (kernel/rcu/srcutree.c).
 */
import type { Engine } from '../sim/engine.ts';
import { MAX_RCU_DOMAINS, type SimThread, type Waitable } from '../sim/thread.ts';

const SYNCHRONIZE = 1;

interface GracePeriod {
  /** Readers that entered at or before this time must leave before the period ends. */
  start: number;
  /** Such readers still inside. */
  oldReaders: number;
  waiters: SimThread[];
  callbacks: Array<(time: number) => void>;
}

/**
 * An RCU domain: classic RCU or one SRCU instance (kvm->srcu). Read-side sections are per-thread
 * nesting counters (free, like preempt_disable); a grace period ends when every reader that was
 * inside when it began has left, plus the profile's grace-period latency. `synchronize` sleeps until
 * then; `callRcu` runs a callback then (deferred frees).
 */
export class RcuDomain implements Waitable {
  private static nextIndex = 0;
  readonly index: number;
  private readers = 0;
  private current: GracePeriod | null = null;
  private next: GracePeriod | null = null;
  /** Grace periods completed. */
  completed = 0;
  readonly waitCat: number;

  constructor(
    readonly engine: Engine,
    readonly name: string,
    readonly gracePeriodNs: number,
    index?: number,
  ) {
    this.index = index ?? RcuDomain.nextIndex++ % MAX_RCU_DOMAINS;
    this.waitCat = engine.categories.wait(`synchronize ${name}`);
  }

  /** rcu_read_lock / srcu_read_lock. */
  readLock(t: SimThread): void {
    const i = this.index;
    if (t.rcuNest[i]++ === 0) {
      t.rcuStart[i] = t.now;
      this.readers++;
    }
  }

  /** rcu_read_unlock / srcu_read_unlock. */
  readUnlock(t: SimThread): void {
    const i = this.index;
    const n = --t.rcuNest[i];
    if (n < 0) throw new Error(`${this.name}: read unlock outside a read-side section`);
    if (n > 0) return;
    this.readers--;
    const gp = this.current;
    if (gp !== null && t.rcuStart[i] <= gp.start && --gp.oldReaders === 0) this.finish(t.now);
  }

  /** True if `t` is inside a read-side section of this domain. */
  isReader(t: SimThread): boolean {
    return t.rcuNest[this.index] > 0;
  }

  /** `yield rcu.synchronize(t)` (synchronize_rcu / synchronize_srcu_expedited). */
  synchronize(t: SimThread): void {
    t.request(this, SYNCHRONIZE);
  }

  /** call_rcu: runs `cb` (with the time) after a grace period that covers every reader inside now. */
  callRcu(now: number, cb: (time: number) => void): void {
    this.pending(now).callbacks.push(cb);
    this.kick(now);
  }

  perform(t: SimThread, _op: number): boolean {
    if (this.isReader(t)) throw new Error(`${this.name}: synchronize inside a read-side section`);
    this.pending(t.now).waiters.push(t);
    this.engine.sleep(t);
    this.kick(t.now);
    return false;
  }

  /**
   * The grace period a request made at `now` joins: the running one if it began no earlier than
   * `now` (so it waits for every reader that was inside at `now`), else the next.
   */
  private pending(now: number): GracePeriod {
    if (this.current !== null && this.current.start >= now) return this.current;
    if (this.next === null) this.next = { start: now, oldReaders: 0, waiters: [], callbacks: [] };
    return this.next;
  }

  /** Starts the next grace period if none is running. */
  private kick(now: number): void {
    if (this.current !== null || this.next === null) return;
    const gp = this.next;
    this.next = null;
    gp.start = now;
    this.current = gp;
    const i = this.index;
    let old = 0;
    if (this.readers > 0) {
      for (const th of this.engine.threads) if (th.rcuNest[i] > 0 && th.rcuStart[i] <= now) old++;
    }
    gp.oldReaders = old;
    if (old === 0) this.finish(now);
  }

  private finish(now: number): void {
    const gp = this.current!;
    this.current = null;
    this.completed++;
    const end = now + this.gracePeriodNs;
    for (const cb of gp.callbacks) cb(end);
    for (const w of gp.waiters) this.engine.wake(w, end, false);
    this.kick(end);
  }
}
