import type { Engine } from '../sim/engine.ts';
import type { SimThread, Waitable } from '../sim/thread.ts';

const WAIT = 1;
const WAIT_ZERO = 3;

/**
 * Models no kernel file: an engine primitive.
 * A shared counter that threads wait on until it reaches a value: a spinning `while (READ_ONCE(x) <
 * v);` loop, or a sleeping wait_event. Each waiter sees the change one cache-line transfer (spinning)
 * or one wake-up (sleeping) after it is made.
 */
export class WaitCount implements Waitable {
  value = 0;
  private waiters: SimThread[] = [];
  private targets: number[] = [];

  readonly waitCat: number;

  /** `name` names the wait in time accounting (`wait <name>`). */
  constructor(
    readonly engine: Engine,
    readonly spinning: boolean,
    name = 'event',
  ) {
    this.waitCat = engine.categories.wait(name);
  }

  /** `yield c.waitFor(t, v)`: waits until value >= v. */
  waitFor(t: SimThread, v: number): void {
    t.request(this, WAIT, v);
  }

  /** `yield c.waitZero(t)`: waits until value === 0 (rcuwait on a count). */
  waitZero(t: SimThread): void {
    t.request(this, WAIT_ZERO);
  }

  /** value += d at `t`'s time, waking the waiters whose condition now holds. */
  add(t: SimThread, d = 1): void {
    this.value += d;
    const p = this.engine.profile;
    const seenAt = t.now + (this.spinning ? p.cacheLineTransferNs : 0);
    let keep = 0;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i];
      if (this.reached(this.targets[i])) this.engine.wake(w, seenAt, this.spinning);
      else {
        this.waiters[keep] = w;
        this.targets[keep++] = this.targets[i];
      }
    }
    this.waiters.length = keep;
    this.targets.length = keep;
  }

  perform(t: SimThread, op: number, arg: number): boolean {
    const target = op === WAIT ? arg : Number.NaN;
    if (this.reached(target)) return true;
    this.waiters.push(t);
    this.targets.push(target);
    if (!this.spinning) this.engine.sleep(t);
    return false;
  }

  private reached(target: number): boolean {
    return Number.isNaN(target) ? this.value === 0 : this.value >= target;
  }
}
