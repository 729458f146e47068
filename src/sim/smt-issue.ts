/**
 * Models no kernel file: hardware (simultaneous multithreading, Intel Hyper-Threading): the issue
 * slots of a physical core, shared by its SMT siblings.
 */
import { MAX_CATEGORIES } from './accounting.ts';
import type { CostProfile } from './profile.ts';
import type { SimThread } from './thread.ts';
import type { Topology } from './topology.ts';

/**
 * Pieces of CPU work each CPU's calendar holds at first; a power of 2. A calendar overwrites its
 * oldest piece only once that ended by the engine's horizon (no thread can still issue work
 * beside it), and doubles otherwise. A fixed ring of 512 forgot work a lagging sibling still ran
 * beside: at 112 vCPUs the aging walker, sharing a core with vCPU 111, then ran its passes partly
 * unslowed (0.1059 s a pass at 112 x 64 MiB with 512, 0.1165 s with 8192).
 */
const RING = 512;

/** The recent CPU work issued on one CPU: intervals in time order, each with its thread and category. */
class IssueCalendar {
  start = new Float64Array(RING);
  end = new Float64Array(RING);
  tid = new Int32Array(RING);
  cat = new Uint8Array(RING);
  /** Slots - 1 (the slots are a power of 2). */
  mask = RING - 1;
  /** Intervals ever added (the newest is number `added - 1`, in slot `(added - 1) & mask`). */
  added = 0;
  /** End of the newest interval (none yet: -Infinity, a double from the start like every later value). */
  lastEnd = Number.NEGATIVE_INFINITY;
  /** Where the sibling's last lookup started in this calendar (an interval number). */
  cursor = 0;
  /** The latest end of a piece overwritten: the sibling may not look up work before it. */
  floor = Number.NEGATIVE_INFINITY;

  /** `horizon`: the earliest time at which a thread can still issue work (`Engine.earliestFutureTime`). */
  constructor(private readonly horizon: () => number) {}

  /** Records work of thread `tid`, category `cat` over [`from`, `to`), merged with the newest if it continues it. */
  add(from: number, to: number, tid: number, cat: number): void {
    // A CPU handed to a thread whose clock is behind the previous holder's: keep the calendar in order.
    if (from < this.lastEnd) from = this.lastEnd;
    if (to <= from) return;
    const n = (this.added - 1) & this.mask;
    if (this.added > 0 && this.end[n] === from && this.tid[n] === tid && this.cat[n] === cat) {
      this.end[n] = to;
      this.lastEnd = to;
      return;
    }
    let i = this.added & this.mask;
    if (this.added > this.mask) {
      if (this.end[i] > this.horizon()) {
        this.grow();
        i = this.added & this.mask;
      } else if (this.end[i] > this.floor) this.floor = this.end[i];
    }
    this.start[i] = from;
    this.end[i] = to;
    this.tid[i] = tid;
    this.cat[i] = cat;
    this.added++;
    this.lastEnd = to;
  }

  /** The number of the oldest interval still running at `at` (this calendar's last one runs past it). */
  firstAfter(at: number): number {
    const m = this.mask;
    const oldest = Math.max(0, this.added - m - 1);
    let i = Math.max(this.cursor, oldest);
    while (this.end[i & m] <= at) i++;
    while (i > oldest && this.end[(i - 1) & m] > at) i--;
    this.cursor = i;
    return i;
  }

  /** Doubles the slots, keeping every interval at its number. */
  private grow(): void {
    const slots = (this.mask + 1) * 2;
    const m = slots - 1;
    const start = new Float64Array(slots);
    const end = new Float64Array(slots);
    const tid = new Int32Array(slots);
    const cat = new Uint8Array(slots);
    for (let n = Math.max(0, this.added - this.mask - 1); n < this.added; n++) {
      const from = n & this.mask;
      start[n & m] = this.start[from];
      end[n & m] = this.end[from];
      tid[n & m] = this.tid[from];
      cat[n & m] = this.cat[from];
    }
    this.start = start;
    this.end = end;
    this.tid = tid;
    this.cat = cat;
    this.mask = m;
  }
}

/**
 * SMT siblings compete for their core's issue slots: while both issue CPU work, each runs at
 * 1 / `smtSiblingSlowdown` of its solo speed (the core does 2 / slowdown times the work of one
 * thread, 1.2× at the shipped 1.67). Only CPU work competes: the time the profile's CPU-time terms
 * charge (`SimThread.advance`, `advanceAs`, `cpuSpan`: what `CoreClock` stretches too). Spinning on
 * a lock, waiting for a cache line, memory-bandwidth stalls, I/O and sleeping do not slow the
 * sibling: a spin loop with PAUSE (cpu_relax) and a load waiting for a line leave the issue slots to
 * the sibling; that is the model's assumption.
 *
 * Model: a calendar per CPU of the CPU work issued on it. Work that starts at `t` runs at full speed
 * where the sibling's calendar is empty and at 1 / slowdown where it holds work. Threads run ahead
 * of each other, so the sibling's work there was placed first, at full speed; its thread owes the
 * difference, (1 - 1 / slowdown) ns of work per ns of overlap, and pays it with its next piece of
 * CPU work (or when it exits), where it competes again. Both siblings so run at 1 / slowdown over
 * time, and the core's total stays at 2 / slowdown. The slowdown is charged to the category of the
 * work that was slowed (as `perf` sees more cycles in the same code): the later thread's in that
 * work's own time, the earlier thread's when it pays, to the categories of the work that owed it.
 *
 * Siblings: Linux x86 numbers a socket's SMT siblings after all physical cores, so CPU c and
 * c + cores x sockets share a core. With more than two threads per core, threads pair up
 * (slots 0-1, 2-3, ...): no shipped profile has that.
 */
export class SmtIssue {
  /** Fraction of solo speed a thread keeps while its sibling also issues. */
  readonly speed: number;
  /** Each CPU's calendar, made when its sibling first gets a thread (null: not recording). */
  private readonly calendars: (IssueCalendar | null)[];
  /** The CPU sharing each CPU's core (-1: none). */
  readonly sibling: Int32Array;

  constructor(
    p: CostProfile,
    topology: Topology,
    private readonly threads: readonly SimThread[],
    /** The earliest time at which a thread can still issue work (`Engine.earliestFutureTime`). */
    private readonly horizon: () => number,
  ) {
    this.speed = 1 / p.smtSiblingSlowdown;
    this.calendars = new Array(topology.cpus).fill(null);
    const n = topology.sockets * topology.coresPerSocket;
    this.sibling = new Int32Array(topology.cpus);
    for (let c = 0; c < topology.cpus; c++) {
      const s = (Math.floor(c / n) ^ 1) * n + (c % n);
      this.sibling[c] = s < topology.cpus ? s : -1;
    }
  }

  /** Whether `p` on `topology` has siblings that slow each other. */
  static applies(p: CostProfile, topology: Topology): boolean {
    return p.smtSiblingSlowdown > 1 && topology.cpus > topology.sockets * topology.coresPerSocket;
  }

  /**
   * A thread took `cpu`: from now on its sibling's work is recorded (a CPU whose sibling never ran
   * anything cannot slow it, and most never share a core). Work issued before the sibling's first
   * thread arrived is not on the calendar, so that thread's first piece may overlap it unslowed.
   */
  took(cpu: number): void {
    const s = this.sibling[cpu];
    if (s >= 0 && this.calendars[s] === null) this.calendars[s] = new IssueCalendar(this.horizon);
  }

  /**
   * `t` issues `ns` of CPU work (at its socket's clock, alone on the core) charged to `cat` by the
   * caller, from its current time, with the work it owes its sibling: records it on its CPU's
   * calendar, charges the owed part to the categories that owed it (moving `t.now`) and returns the
   * rest of the time the whole takes beside the sibling's work.
   */
  issue(t: SimThread, cat: number, ns: number): number {
    const cpu = t.cpu;
    if (cpu < 0 || this.calendars[cpu] === null) return ns;
    const owed = t.smtOwedNs;
    if (owed === 0) return this.place(t, cpu, cat, ns);
    const d = this.place(t, cpu, cat, ns + owed);
    return d - this.chargeOwed(t, d / (ns + owed));
  }

  /** Pays the CPU work `t` still owes its sibling (when it exits: its last pieces of work overlapped). */
  repay(t: SimThread): void {
    const owed = t.smtOwedNs;
    if (owed === 0) return;
    const first = t.smtOwedCats[0];
    const d =
      t.cpu < 0 || this.calendars[t.cpu] === null ? Math.round(owed) : this.place(t, t.cpu, first, owed);
    const rest = d - this.chargeOwed(t, d / owed);
    t.now += rest;
    t.acct[first] += rest;
  }

  /** Charges the owed work, stretched by `f`, to the categories that owed it; returns the time charged. */
  private chargeOwed(t: SimThread, f: number): number {
    const owed = t.smtOwed as Float64Array;
    const cats = t.smtOwedCats;
    let charged = 0;
    for (let k = 0; k < t.smtOwedCount; k++) {
      const c = cats[k];
      const d = Math.floor(owed[c] * f);
      owed[c] = 0;
      t.acct[c] += d;
      charged += d;
    }
    t.now += charged;
    t.smtOwedCount = 0;
    t.smtOwedNs = 0;
    return charged;
  }

  /**
   * Places `ns` of work (not necessarily whole) on `cpu`'s calendar from `t.now`; returns its
   * length in whole nanoseconds. The rounding is carried to the thread's next piece, so that it
   * does not pile up over many pieces.
   */
  private place(t: SimThread, cpu: number, cat: number, ns: number): number {
    const at = t.now;
    const sib = this.sibling[cpu];
    let exact = ns + t.smtCarryNs;
    const other = sib >= 0 ? this.calendars[sib] : null;
    if (other !== null && at < other.floor)
      throw new Error(
        `CPU ${cpu}: work issued at ${at} ns, before its sibling's calendar forgot up to ${other.floor} ns`,
      );
    if (other !== null && other.lastEnd > at) exact = this.beside(t, other, at, ns) - at + t.smtCarryNs;
    const d = Math.max(0, Math.round(exact));
    t.smtCarryNs = exact - d;
    (this.calendars[cpu] as IssueCalendar).add(at, at + d, t.id, cat);
    return d;
  }

  /** When `ns` of work issued at `at` ends beside the sibling calendar `o`; the sibling's threads owe the overlap. */
  private beside(t: SimThread, o: IssueCalendar, at: number, ns: number): number {
    const speed = this.speed;
    let now = at;
    let left = ns;
    for (let n = o.firstAfter(at); n < o.added; n++) {
      const i = n & o.mask;
      const start = o.start[i];
      if (start > now) {
        if (left <= start - now) return now + left;
        left -= start - now;
        now = start;
      }
      const both = o.end[i] - now;
      if (left <= both * speed) {
        const ran = left / speed;
        this.owe(t, o.tid[i], o.cat[i], ran);
        return now + ran;
      }
      this.owe(t, o.tid[i], o.cat[i], both);
      left -= both * speed;
      now = o.end[i];
    }
    return now + left;
  }

  /** Thread `tid` ran alone for `ns` that its sibling `t` shared: it owes the work it did beyond its share. */
  private owe(t: SimThread, tid: number, cat: number, ns: number): void {
    if (tid === t.id) return;
    const w = this.threads[tid];
    const debt = (1 - this.speed) * ns;
    if (w.smtOwed === null) w.smtOwed = new Float64Array(MAX_CATEGORIES);
    if (w.smtOwed[cat] === 0) w.smtOwedCats[w.smtOwedCount++] = cat;
    w.smtOwed[cat] += debt;
    w.smtOwedNs += debt;
  }
}
