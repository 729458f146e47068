/** Models no kernel file: the engine's simulated thread (a task), its clock and time accounting, and `call`. */
import { CAT, MAX_CATEGORIES } from './accounting.ts';
import type { Engine } from './engine.ts';
import type { RandomStream } from './random.ts';
import type { SmtIssue } from './smt-issue.ts';

/**
 * Something a simulated thread can ask to happen at its current time (take a lock, wait for a
 * count): the engine calls `perform` once the thread is the earliest one, so the operation sees every
 * earlier operation of every other thread. Returns true if the thread goes on now (its `now` may
 * have advanced), false if it was parked and will be woken with `Engine.wake`.
 */
export interface Waitable {
  /** The time category (`TimeCategories`) a thread parked here is charged until woken. */
  readonly waitCat: number;
  perform(t: SimThread, op: number, arg: number): boolean;
}

/** Maximum number of RCU/SRCU domains a thread can be inside at once. */
export const MAX_RCU_DOMAINS = 8;

/** Body of a simulated thread: a synchronous generator that yields to let time pass. */
export type ThreadBody = Generator<void, void, void>;

/** A generator on a thread's call stack (see `call`). */
type Frame = Generator<void, unknown, unknown>;

/**
 * Runs `g` as a subroutine of the calling thread and returns its result, like `yield* g` but with
 * `g` pushed on the thread's call stack: the engine resumes `g` itself, so each of its yields costs
 * one generator resumption instead of one per enclosing `yield*`. Use it where a deep generator
 * yields many times (a loop that gives way per page); `yield* call(g)` inside a generator.
 */
export function* call<R>(g: Generator<void, R, void>): Generator<void, R, void> {
  // The engine sees a yielded generator (not undefined), pushes it and resumes us with its result.
  return (yield g as unknown as undefined) as unknown as R;
}

/**
 * A simulated kernel or user thread (a task). Its body runs in steps; between steps the engine
 * runs other threads. Time is the thread's own clock `now`, in integer nanoseconds.
 */
export class SimThread {
  /** Thread-local simulated time (ns). */
  now = 0;
  /** A non-fatal signal is pending (signal_pending of the task). */
  signalPending = false;
  /** Host CPU the thread runs on, -1 while it waits for one. */
  cpu = -1;
  /** The CPU it last ran on (-1: none yet): where a wakeup looks first. */
  prevCpu = -1;
  /** NUMA node it is bound to (-1: any), like a per-node kthread. */
  bindNode = -1;
  /** Socket of the CPU the thread runs or last ran on. */
  socket = 0;
  /** That socket's CPU-time multiplier (`CoreClock.slowdown`), kept current by the engine. */
  slowdown = 1;
  /**
   * In guest mode a vCPU only touches its own translations (setting Accessed/Dirty bits commutes),
   * so it may run ahead of other guest-mode threads, but never past a kernel-mode thread.
   */
  guest = false;
  /** Time up to which the thread may run without giving way (set by the engine). */
  limit = 0;
  /** When the thread's current CPU slice ends. */
  sliceEnd = 0;
  /** Pending operation, performed when the thread is the earliest. */
  op: Waitable | null = null;
  opCode = 0;
  opArg = 0;
  /** Time the thread started waiting (for wait statistics). */
  waitStart = 0;
  /** When the thread was created: its elapsed time is `now - startNs`. */
  startNs = 0;
  /** Simulated time per category (`TimeCategories`); sums to the elapsed time. */
  readonly acct = new Float64Array(MAX_CATEGORIES);
  /** Category that CPU work (`advance`) is charged to: the kernel path the thread is in. */
  ctx: number = CAT.other;
  /** Category a parked thread's wait is charged to when it is woken. */
  waitCat: number = CAT.other;
  /** RCU read-side nesting and entry time, per domain. */
  readonly rcuNest = new Int32Array(MAX_RCU_DOMAINS);
  readonly rcuStart = new Float64Array(MAX_RCU_DOMAINS);
  /** The engine's SMT issue calendars (null: no sibling slows another). */
  readonly smt: SmtIssue | null;
  /** CPU work owed to the SMT sibling per category (`SmtIssue`), and its total; paid at the next CPU work. */
  smtOwed: Float64Array | null = null;
  smtOwedNs = 0;
  /** What rounding the thread's last piece of CPU work to whole nanoseconds left over (-0.5 to 0.5). */
  smtCarryNs = 0;
  /** The categories with work owed, in the order they were first owed, and how many. */
  readonly smtOwedCats = new Uint8Array(MAX_CATEGORIES);
  smtOwedCount = 0;
  /** Cost to charge at the next exit from guest mode (IPIs received while in the guest). */
  pendingKickNs = 0;
  /**
   * Plain accesses still in flight: when the thread's last buffered store to a shared line (with the
   * load before it, if any) completes, and that line's time category. The thread goes on meanwhile;
   * its next locked RMW waits for them (`CacheLine.rmwBy`).
   */
  storeDrainAt = 0;
  storeDrainCat: number = CAT.other;
  done = false;
  /** Call stack: the body, then generators started with `call`; the engine resumes the last. */
  readonly stack: Frame[] = [];

  constructor(
    readonly engine: Engine,
    readonly id: number,
    readonly name: string,
    readonly rng: RandomStream,
  ) {
    this.smt = engine.smt;
  }

  /**
   * Lets `ns` of CPU work pass on this thread (pure computation, no interaction): `ns` is the time
   * at the top core clock, stretched by the socket's current clock (see `CoreClock`) and by an SMT
   * sibling issuing at the same time (see `SmtIssue`).
   */
  advance(ns: number): void {
    const cat = this.ctx;
    const d = this.cpuSpan(cat, ns);
    this.now += d;
    this.acct[cat] += d;
  }

  /** `advance`, charged to category `cat` instead of the current context. */
  advanceAs(cat: number, ns: number): void {
    const d = this.cpuSpan(cat, ns);
    this.now += d;
    this.acct[cat] += d;
  }

  /**
   * How long `ns` of CPU work at the top clock takes from now, at the socket's clock and beside the
   * SMT sibling, for a caller that charges it to `cat` itself (`until`). The work goes on the core's
   * issue calendar; CPU work the thread owes its sibling is paid first, moving `now`.
   */
  cpuSpan(cat: number, ns: number): number {
    const w = this.cpuNs(ns);
    const smt = this.smt;
    return smt === null ? w : smt.issue(this, cat, w);
  }

  /** Moves the clock on to `time` (not back), charging the time passed to category `cat`. */
  until(cat: number, time: number): void {
    const d = time - this.now;
    if (d <= 0) return;
    this.now = time;
    this.acct[cat] += d;
  }

  /** Time spent waiting for locks, spinning or parked: the sum of the thread's `lock ...` categories. */
  lockWaitNs(): number {
    const kinds = this.engine.categories.kinds;
    let ns = 0;
    for (let i = 0; i < kinds.length; i++) if (kinds[i] === 'lock') ns += this.acct[i];
    return ns;
  }

  /** Enters kernel path `cat`: CPU work is charged to it until `leave` restores the returned context. */
  enter(cat: number): number {
    const prev = this.ctx;
    this.ctx = cat;
    return prev;
  }

  /** Leaves a path entered with `enter`, back to context `prev`. */
  leave(prev: number): void {
    this.ctx = prev;
  }

  /** The time `ns` of CPU work at the top clock takes at the socket's current clock. */
  cpuNs(ns: number): number {
    const f = this.slowdown;
    return f === 1 ? ns : Math.round(ns * f);
  }

  /**
   * need_resched: the scheduler wants this CPU (TIF_NEED_RESCHED): the slice is over and another
   * thread waits for a CPU. A `yield` then is cond_resched: the engine preempts the thread there.
   */
  needResched(): boolean {
    return this.now >= this.sliceEnd && this.engine.cpuWanted();
  }

  /** True when the thread has run past another thread and must yield before touching shared state. */
  mustSync(): boolean {
    return this.now > this.limit;
  }

  /** VM entry: from now on the thread only touches guest-private state. */
  enterGuest(): void {
    this.guest = true;
  }

  /** VM exit: kernel mode again, so the thread must not run past guest-mode threads either. */
  exitGuest(): void {
    this.guest = false;
    const g = this.engine.guestHorizon();
    if (g < this.limit) this.limit = g;
  }

  /** `ns` scaled by the profile's jitter, drawn from this thread's stream. */
  jittered(ns: number): number {
    const j = this.engine.profile.jitter;
    if (j === 0) return ns;
    return Math.round(ns * (1 + j * (2 * this.rng.nextFloat() - 1)));
  }

  /** Queues `op` on `target` to be performed when the thread is the earliest; use as `yield t.request(...)`. */
  request(target: Waitable, op: number, arg = 0): void {
    this.op = target;
    this.opCode = op;
    this.opArg = arg;
  }
}
