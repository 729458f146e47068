/** Models no kernel file: the discrete-event engine (clock, run queue, CPUs, scheduling of simulated threads). */
import { CAT, type ReportedLock, TimeCategories } from './accounting.ts';
import { CacheLine, type LineCosts } from './cache-line.ts';
import { CoreClock } from './core-clock.ts';
import { CpuPlacement } from './cpu-placement.ts';
import { EventHeap } from './event-heap.ts';
import type { CostProfile } from './profile.ts';
import { RandomStream } from './random.ts';
import { SmtIssue } from './smt-issue.ts';
import { SimThread, type ThreadBody } from './thread.ts';
import { profileCpus, Topology } from './topology.ts';
import type { Tracer } from './trace.ts';

/** Options of a simulation engine. */
export interface EngineOptions {
  profile: CostProfile;
  seed: number;
  /** Host CPUs (defaults to the profile's sockets x cores x threads). */
  cpus?: number;
  trace?: Tracer | null;
}

/**
 * Discrete-event engine: an integer-nanosecond clock, simulated threads as generators and a fixed
 * number of host CPUs.
 *
 * Scheduling rule: the thread with the earliest time runs; it keeps running while its time is not
 * past any other runnable thread's (no queue traffic for a thread that stays the earliest). A thread
 * in guest mode only has to stay behind kernel-mode threads (see `SimThread.guest`), so a vCPU
 * touching already-mapped memory runs ahead until its next exit. Two heaps hold runnable threads:
 * kernel mode and guest mode; at equal times kernel mode goes first, and within a heap FIFO.
 *
 * CPUs: a thread holds a CPU while it runs or spins; it gives the CPU up when it sleeps or exits.
 * `CpuPlacement` picks the CPU of a new thread (near its parent) and of a waking one (its previous
 * CPU if idle). Threads beyond the CPU count wait in a FIFO run queue; a thread whose slice has
 * ended gives its CPU to the head of that queue at its next step.
 */
export class Engine {
  readonly profile: CostProfile;
  readonly trace: Tracer | null;
  readonly seed: number;
  readonly threads: SimThread[] = [];
  /** Time of the step being run. */
  now = 0;
  /** Steps run (a step is one resumption of a thread). */
  steps = 0;
  /** Latest time any thread reached when it exited. */
  private endTime = 0;
  private readonly kernelHeap = new EventHeap();
  private readonly guestHeap = new EventHeap();
  private readonly placement: CpuPlacement;
  private readonly runQueue: SimThread[] = [];
  private runQueueHead = 0;

  /** Whether a thread waits for a CPU (the scheduler would set TIF_NEED_RESCHED on a busy one). */
  cpuWanted(): boolean {
    return this.runQueueHead < this.runQueue.length;
  }
  private current: SimThread | null = null;
  readonly cpuCount: number;
  /** Which socket each CPU is on. */
  readonly topology: Topology;
  /** What an atomic on a shared cache line costs on this machine (see `CacheLine`). */
  readonly lineCosts: LineCosts;
  /** Each socket's core clock, set by how many of its cores are active. */
  readonly clock: CoreClock;
  /** The cores' issue calendars, if SMT siblings slow each other on this machine (see `SmtIssue`). */
  readonly smt: SmtIssue | null;
  /** The time categories threads charge (see `SimThread.acct`). */
  readonly categories = new TimeCategories();
  /** Every shared cache line made with `sharedLine`, for reports. */
  readonly lines: CacheLine[] = [];
  /** `earliestFutureTime` as a function, for the calendars that forget what ended before it. */
  private readonly earliestFuture = (): number => this.earliestFutureTime();
  /** Every lock, for reports (locks add themselves). */
  readonly locks: ReportedLock[] = [];

  constructor(opts: EngineOptions) {
    this.profile = opts.profile;
    this.seed = opts.seed;
    this.trace = opts.trace ?? null;
    const p = opts.profile;
    this.cpuCount = opts.cpus ?? profileCpus(p);
    this.topology = new Topology(p, this.cpuCount);
    this.lineCosts = {
      localNs: p.cacheLineLocalNs,
      transferNs: p.cacheLineTransferNs,
      remoteNs: p.cacheLineRemoteNs,
      queuedNs: p.cacheLineQueuedNs,
      contendedNs: p.cacheLineContendedNs,
      socketOf: this.topology.socketOf,
      coreOf: this.topology.coreOf,
    };
    this.clock = new CoreClock(p, this.topology);
    this.placement = new CpuPlacement(this.topology);
    this.smt = SmtIssue.applies(p, this.topology)
      ? new SmtIssue(p, this.topology, this.threads, this.earliestFuture)
      : null;
  }

  /**
   * A contended cache line named `name` (a lock word, a shared counter), its time charged to the
   * category `line <cls>`.
   */
  sharedLine(name: string, cls = name): CacheLine {
    const l = new CacheLine(this.lineCosts, this.earliestFuture);
    l.name = name;
    l.cat = this.categories.line(cls);
    this.lines.push(l);
    return l;
  }

  /**
   * Creates a thread that starts at `at` (default: the spawning thread's own time, which may be
   * ahead of the step's) once it gets a CPU: forked by
   * the running thread (placed near it), bound to NUMA node `bindNode` like a per-node kthread, or
   * started on CPU `pinCpu` if that is idle (sched_setaffinity before it runs).
   */
  spawn(
    name: string,
    body: (t: SimThread) => ThreadBody,
    at = this.current?.now ?? this.now,
    bindNode = -1,
    pinCpu = -1,
  ): SimThread {
    const t = new SimThread(this, this.threads.length, name, new RandomStream(this.seed, `thread:${name}`));
    this.threads.push(t);
    t.stack.push(body(t));
    t.now = at;
    t.startNs = at;
    t.bindNode = bindNode;
    const parentNode = this.topology.nodeOf(this.current?.cpu ?? -1);
    const cpu =
      pinCpu >= 0 && this.placement.isIdle(pinCpu) ? pinCpu : this.placement.forkCpu(parentNode, bindNode);
    this.getCpu(t, 0, cpu);
    return t;
  }

  /** Runs until no thread is runnable. Returns the latest time reached. */
  run(): number {
    const kh = this.kernelHeap;
    const gh = this.guestHeap;
    for (;;) {
      const tk = kh.peekTime();
      const tg = gh.peekTime();
      let id: number;
      if (tk <= tg) {
        if (tk === Number.POSITIVE_INFINITY) break;
        id = kh.pop();
      } else id = gh.pop();
      const t = this.threads[id];
      this.now = t.now;
      this.step(t);
    }
    this.current = null;
    return Math.max(this.now, this.endTime);
  }

  /**
   * A time before which no thread acts any more: the running thread's own time and the earliest of
   * the others waiting to run (a thread that sleeps or waits for a CPU resumes no earlier than the
   * thread that wakes it or gives it up). Unlike `now`, it moves on inside a long step.
   */
  earliestFutureTime(): number {
    const h = Math.min(this.kernelHeap.peekTime(), this.guestHeap.peekTime());
    return Math.min(this.current?.now ?? this.now, h);
  }

  /** Earliest guest-mode thread's time (a thread leaving guest mode must stay behind it). */
  guestHorizon(): number {
    return this.guestHeap.peekTime();
  }

  /** Time up to which `t` may run before another thread must go first. */
  private horizon(t: SimThread): number {
    const k = this.kernelHeap.peekTime();
    if (t.guest && t.op === null) return k;
    const g = this.guestHeap.peekTime();
    return Math.min(k, g);
  }

  private step(t: SimThread): void {
    this.current = t;
    this.steps++;
    t.limit = this.horizon(t);
    if (this.runQueueHead < this.runQueue.length && t.sliceEnd < t.limit) t.limit = t.sliceEnd;
    for (;;) {
      const op = t.op;
      if (op !== null) {
        if (t.now > t.limit) break;
        t.op = null;
        t.waitCat = op.waitCat;
        if (!op.perform(t, t.opCode, t.opArg)) {
          this.current = null;
          return;
        }
        if (t.now > t.limit) break;
      }
      if (this.resume(t)) {
        this.exit(t);
        return;
      }
      if (t.op === null && t.now > t.limit) break;
    }
    this.current = null;
    if (t.now >= t.sliceEnd && this.runQueueHead < this.runQueue.length) {
      this.preempt(t);
      return;
    }
    this.schedule(t);
  }

  /**
   * Resumes the top of `t`'s call stack until it yields plainly (false) or the body returns (true).
   * A yielded generator is a `call`: it is pushed and run; its result (or exception) goes back to
   * the frame below, as `yield*` would deliver it.
   */
  private resume(t: SimThread): boolean {
    const stack = t.stack;
    let g = stack[stack.length - 1];
    let r: IteratorResult<unknown, unknown>;
    let sent: unknown;
    let thrown = false;
    let error: unknown;
    for (;;) {
      try {
        r = thrown ? g.throw(error) : g.next(sent);
      } catch (e) {
        stack.pop();
        if (stack.length === 0) throw e;
        g = stack[stack.length - 1];
        thrown = true;
        error = e;
        continue;
      }
      thrown = false;
      if (!r.done) {
        if (r.value === undefined) return false;
        g = r.value as Generator<void, unknown, unknown>;
        stack.push(g);
        sent = undefined;
        continue;
      }
      stack.pop();
      if (stack.length === 0) return true;
      g = stack[stack.length - 1];
      sent = r.value;
    }
  }

  private schedule(t: SimThread): void {
    if (t.guest && t.op === null) this.guestHeap.push(t.now, t.id);
    else this.kernelHeap.push(t.now, t.id);
    // The running thread must not run past a thread that just became runnable before it.
    const c = this.current;
    if (c !== null && c !== t && t.now < c.limit) {
      const toKernel = !t.guest || t.op !== null;
      if (toKernel || !c.guest || c.op !== null) c.limit = t.now;
    }
  }

  /**
   * Makes a parked thread runnable at `time` (or its own time if later). `spinning` threads kept
   * their CPU; sleeping ones need one again.
   */
  wake(t: SimThread, time: number, spinning: boolean): void {
    t.until(t.waitCat, time);
    if (spinning) this.schedule(t);
    else this.getCpu(t, this.profile.wakeupNs, this.placement.wakeCpu(t.prevCpu, t.bindNode));
  }

  /** Parks `t` without a CPU (a sleeping wait); the CPU goes to the next thread in the run queue. */
  sleep(t: SimThread): void {
    this.putCpu(t);
  }

  /**
   * sched_setaffinity of the running thread `t` to node `node`'s CPUs: it leaves its CPU (handed to
   * a queued thread or left idle) for an idle CPU of that node and stays bound there (wake-ups pick
   * that node). Returns false, changing nothing, when the node has no idle CPU.
   */
  moveToNode(t: SimThread, node: number): boolean {
    const cpu = this.placement.idleCpuOnNode(node);
    if (cpu < 0) return false;
    this.putCpu(t);
    this.placement.take(cpu);
    this.clockChanged(this.clock.busy(cpu, 1));
    this.takeCpu(t, cpu);
    t.bindNode = node;
    return true;
  }

  /** `t` runs on idle CPU `cpu` after `delay`, or waits in the run queue if `cpu` is -1. */
  private getCpu(t: SimThread, delay: number, cpu: number): void {
    if (cpu < 0) {
      this.runQueue.push(t);
      return;
    }
    this.placement.take(cpu);
    this.clockChanged(this.clock.busy(cpu, 1));
    this.takeCpu(t, cpu);
    t.now += delay;
    t.acct[CAT.wakeup] += delay;
    t.sliceEnd = t.now + this.profile.timesliceNs;
    this.schedule(t);
  }

  private putCpu(t: SimThread): void {
    const cpu = t.cpu;
    t.cpu = -1;
    if (cpu < 0) return;
    if (this.runQueueHead < this.runQueue.length) {
      const next = this.runQueue[this.runQueueHead++];
      if (this.runQueueHead > 1024 && this.runQueueHead * 2 > this.runQueue.length) {
        this.runQueue.splice(0, this.runQueueHead);
        this.runQueueHead = 0;
      }
      this.takeCpu(next, cpu);
      next.until(CAT.runQueue, t.now);
      next.now += this.profile.contextSwitchNs;
      next.acct[CAT.contextSwitch] += this.profile.contextSwitchNs;
      next.sliceEnd = next.now + this.profile.timesliceNs;
      this.schedule(next);
    } else {
      this.clockChanged(this.clock.busy(cpu, -1));
      this.placement.release(cpu);
    }
  }

  /** `t` runs on `cpu` from now on (a CPU handed from one thread to the next stays busy). */
  private takeCpu(t: SimThread, cpu: number): void {
    t.socket = this.topology.socketOf[cpu];
    t.slowdown = this.clock.slowdown[t.socket];
    t.cpu = cpu;
    t.prevCpu = cpu;
    this.smt?.took(cpu);
  }

  /** Gives the threads of `socket` (if not -1) its new core clock. */
  private clockChanged(socket: number): void {
    if (socket < 0) return;
    const f = this.clock.slowdown[socket];
    for (const t of this.threads) if (t.socket === socket) t.slowdown = f;
  }

  private preempt(t: SimThread): void {
    this.putCpu(t);
    this.runQueue.push(t);
  }

  private exit(t: SimThread): void {
    if (t.smtOwedNs !== 0) this.smt?.repay(t);
    t.done = true;
    if (t.now > this.endTime) this.endTime = t.now;
    this.current = null;
    this.putCpu(t);
  }
}
