/** Models no kernel file: hardware, atomics on one contended cache line and their hand-offs between CPUs. */
import { BLOCK_SHIFT, countUpTo, LineCalendar } from './line-calendar.ts';
import type { SimThread } from './thread.ts';

/** What atomics on a shared line cost on a machine (built once per engine from its profile). */
export interface LineCosts {
  /** RMW on a line the CPU owns. */
  localNs: number;
  /** Pulling the line from a CPU of the same socket. */
  transferNs: number;
  /** Pulling the line from a CPU on another socket. */
  remoteNs: number;
  /** Added to a pull for each RMW already queued ahead of it (0 or absent: none). */
  queuedNs?: number;
  /**
   * The least a pull costs while another request waits besides the holder's (more than one RMW
   * ahead of it; 0 or absent: no floor).
   */
  contendedNs?: number;
  /** Socket of each CPU, or null for a one-socket machine. */
  socketOf: Uint8Array | null;
  /** Physical core of each CPU (SMT siblings share one and its L1/L2), or null: no SMT. */
  coreOf?: Int32Array | null;
}

/**
 * One contended cache line (a lock word, a shared counter). Atomic read-modify-writes on it never
 * overlap: each takes a local RMW's time if the CPU that touched the line just before it was the
 * same, else a transfer from that CPU, dearer from another socket. N CPUs hammering one line queue
 * for up to N transfers each. No CPU spins reading the line meanwhile: rwsem and qrwlock readers
 * and atomic counters do one atomic each, and qspinlock waiters spin on their own MCS node (only
 * the queue head watches the lock word, which the hand-off transfer already pays for). What the
 * hardware does with many requests for one line outstanding at once is not known in detail (a
 * home agent resolving conflicting requests); `queuedNs` charges it as a surcharge on a transfer
 * per RMW queued ahead of it, and `contendedNs` as the least such a transfer costs while other
 * requests wait, whichever CPU the line comes from; 0 in a profile that does not charge them
 * (docs/cost-model.md).
 *
 * Threads run critical sections in one step, so an RMW can be issued at a time earlier than one
 * already placed; the line keeps a calendar of its last RMWs and puts each new one into the first
 * gap at or after its issue time. The RMW after that gap keeps what it was charged, though it now
 * takes the line from the late one's CPU: the approximation keeps the queue in issue order, which
 * the micro references favour (docs/simulation-model.md, "Approximation").
 */
export class CacheLine extends LineCalendar {
  /** Accesses that had to pull the line from another CPU. */
  transfers = 0;
  /** Accesses done: RMWs, and stores or load-stores (`storeBy`, `loadStoreBy`), free ones included. */
  accesses = 0;
  /** Transfers from a CPU on another socket. */
  remoteTransfers = 0;
  /** Time RMWs waited for the line before their own transfer began, in total and at most. */
  waitNs = 0;
  maxWaitNs = 0;
  /** Most RMWs an RMW found ahead of it on the line. */
  maxQueue = 0;
  /** Time the line was busy with RMWs (their transfers and local operations). */
  busyNs = 0;
  /** Time category (`TimeCategories.line`) a thread's RMWs are charged to. */
  cat = 0;
  /** Name of the line in reports (`perf c2c`'s symbol): the lock word or counter it holds. */
  name = '';
  /**
   * Of the last RMW placed: the CPU of the RMW just before it on the line (-1: none) and when that
   * one ended. A cmpxchg whose previous access to the line ended at its issue time succeeds only if
   * that access is the one right before it: no other CPU changed the word in between.
   */
  lastPrevCpu = -1;
  lastPrevEnd = -1;

  private readonly localNs: number;
  private readonly transferNs: number;
  /**
   * The narrowest gap between placed RMWs that a pull may use: the dearest pull on this machine,
   * so that a late RMW from another socket finds the same gaps as one from this socket (the line
   * favours no socket; a gap that fits only a same-socket pull would hand the line to that socket).
   */
  private readonly pullGap: number;
  private readonly remoteNs: number;
  private readonly queuedNs: number;
  private readonly contendedNs: number;
  private readonly socketOf: Uint8Array | null;
  private readonly coreOf: Int32Array | null;

  /**
   * `horizon`: the earliest time at which an RMW can still be issued (the engine's
   * `earliestFutureTime`); without one the line forgets nothing.
   */
  constructor(c: LineCosts, horizon?: () => number) {
    super(horizon);
    this.localNs = c.localNs;
    this.transferNs = c.transferNs;
    const sockets = c.socketOf === null ? 1 : Math.max(...c.socketOf) + 1;
    this.contendedNs = c.contendedNs ?? 0;
    this.pullGap = Math.max(
      sockets === 1 ? c.transferNs : Math.max(c.transferNs, c.remoteNs),
      this.contendedNs,
    );
    this.remoteNs = c.remoteNs;
    this.queuedNs = c.queuedNs ?? 0;
    this.socketOf = c.socketOf;
    this.coreOf = c.coreOf ?? null;
  }

  /**
   * Cost of an access by `cpu` right after one by `prev` (-1: nobody): local, or `pulls`
   * transactions (an RMW: 1, `loadStoreBy`: 2) each as dear as pulling the line from `prev`.
   */
  private hop(prev: number, cpu: number, pulls = 1): number {
    if (prev === cpu) return this.localNs;
    // SMT siblings share the core's caches: the line does not move.
    const co = this.coreOf;
    if (co !== null && prev >= 0 && co[prev] === co[cpu]) return this.localNs;
    // Nobody had the line: one fill, which a store needs no upgrade after.
    if (prev < 0) return this.transferNs;
    const so = this.socketOf;
    if (so === null || so[prev] === so[cpu]) return this.transferNs * pulls;
    return this.remoteNs * pulls;
  }

  /**
   * `hop`; when the line moves to another core with `ahead` RMWs queued before this one, at least
   * `contendedNs` per transaction if more than one is (another request waits besides the holder's),
   * plus `queuedNs` for each of them (rounded to a whole nanosecond).
   */
  private cost(prev: number, cpu: number, pulls: number, ahead: number): number {
    const h = this.hop(prev, cpu, pulls);
    if (ahead === 0 || prev < 0 || prev === cpu) return h;
    const co = this.coreOf;
    if (co !== null && co[prev] === co[cpu]) return h;
    // The floor needs a request waiting besides this one: in a two-CPU ping-pong the one RMW ahead
    // is the holder's own.
    return (ahead > 1 ? Math.max(h, this.contendedNs * pulls) : h) + this.surcharge(ahead);
  }

  /**
   * `queuedNs` for `ahead` RMWs queued before a pull, in whole nanoseconds (as all simulated time
   * is). A gap must fit the dearest pull plus it, so that the surcharge favours no socket either.
   */
  private surcharge(ahead: number): number {
    return Math.round(this.queuedNs * ahead);
  }

  /** Counts an RMW by `cpu` after one by `prev`, issued at `at`, run from `start` to `end`. */
  private count(prev: number, cpu: number, at: number, start: number, end: number, queue: number): void {
    this.accesses++;
    this.busyNs += end - start;
    if (prev !== cpu) {
      this.transfers++;
      const so = this.socketOf;
      if (so !== null && prev >= 0 && so[prev] !== so[cpu]) this.remoteTransfers++;
    }
    const w = start - at;
    if (w > 0) {
      this.waitNs += w;
      if (w > this.maxWaitNs) this.maxWaitNs = w;
    }
    if (queue > this.maxQueue) this.maxQueue = queue;
  }

  /**
   * An atomic RMW by thread `t` at its time, on its CPU; its time passes, charged to the line. A
   * LOCK-prefixed instruction drains the store buffer first: it waits for the thread's plain stores
   * still in flight (`storeBy`, `loadStoreBy`), charged to their line.
   */
  rmwBy(t: SimThread): void {
    if (t.storeDrainAt > t.now) t.until(t.storeDrainCat, t.storeDrainAt);
    t.until(this.cat, this.rmw(t.now, t.cpu));
  }

  /** Leaves a plain access that completes at `end` in flight: `t` goes on; its next RMW waits for it. */
  private inFlight(t: SimThread, end: number): void {
    if (end > t.storeDrainAt) {
      t.storeDrainAt = end;
      t.storeDrainCat = this.cat;
    }
  }

  /**
   * A plain store by thread `t` (WRITE_ONCE of a field on this line): free when its CPU owns the
   * line and nobody's RMW is placed after its last one (the store hits L1), else it pulls the line
   * like an RMW (a read-for-ownership), which keeps the line as busy as an RMW would. The store
   * waits in the store buffer for it and the thread goes on: only its next locked RMW waits (x86
   * drains the store buffer before a LOCK-prefixed instruction).
   */
  storeBy(t: SimThread): void {
    const n = this.n;
    if (n > 0 && this.cpus[n - 1] === t.cpu && t.now >= this.ends[n - 1]) {
      this.accesses++;
      return;
    }
    this.inFlight(t, this.rmw(t.now, t.cpu));
  }

  /**
   * A load then a store by thread `t` to this line (READ_ONCE then WRITE_ONCE of one field):
   * free when its CPU owns the line, as `storeBy`. Otherwise the load misses and leaves the CPU a
   * shared copy, and the store must then invalidate the copy of the CPU it read from (an upgrade):
   * two transactions, each costing what a pull from that CPU costs, one after the other. The loaded
   * value feeds only the store, so the core runs on past both (its reorder buffer holds the
   * instructions after the load, the store buffer the store) and, as for `storeBy`, only its next
   * locked RMW waits for them. The model has no reorder-buffer limit: a load that waits in a deep
   * queue would in fact stall the core once the buffer fills.
   */
  loadStoreBy(t: SimThread): void {
    const n = this.n;
    if (n > 0 && this.cpus[n - 1] === t.cpu && t.now >= this.ends[n - 1]) {
      this.accesses++;
      return;
    }
    this.inFlight(t, this.rmw(t.now, t.cpu, 2));
  }

  /**
   * `rmwBy` for an access that follows `t`'s previous one on this line, which ended at `t.now`:
   * returns whether no other CPU's RMW came in between (a cmpxchg with the value that access read
   * succeeds exactly then).
   */
  rmwFollowsBy(t: SimThread): boolean {
    const at = t.now;
    this.rmwBy(t);
    return this.lastPrevCpu === t.cpu && this.lastPrevEnd === at;
  }

  /**
   * An atomic RMW by `cpu` issued at `at` (or, with `pulls` 2, a load then a store); returns when it
   * completes.
   */
  rmw(at: number, cpu: number, pulls = 1): number {
    const E = this.ends;
    const C = this.cpus;
    const n = this.n;
    let start = at;
    let prev = this.oldestOwner;
    let i = 0;
    // RMWs already on the line ahead of this one.
    let ahead = 0;
    if (n > 0 && at >= E[n - 1]) {
      // Common case: issued after every remembered RMW, so it starts when issued.
      prev = C[n - 1];
      this.lastPrevCpu = prev;
      this.lastPrevEnd = E[n - 1];
      const gap = at - E[n - 1];
      if (gap >= this.pullGap) this.tailFrom = n;
      const end = at + this.hop(prev, cpu, pulls);
      this.count(prev, cpu, at, at, end, 0);
      this.append(at, end, gap, cpu);
      return end;
    } else if (n === 0) {
      this.checkHorizon(at);
      this.tailFrom = 0;
      this.lastPrevCpu = prev;
      this.lastPrevEnd = this.oldestEnd;
    } else {
      this.checkHorizon(at);
      // Intervals are sorted and disjoint: find the first that ends after `at`.
      const lo = countUpTo(E, n, at);
      if (lo > 0) prev = C[lo - 1];
      i = this.findGap(lo, at, cpu, prev, pulls);
      ahead = i - lo;
      if (i < n) {
        if (i > lo) {
          start = E[i - 1];
          prev = C[i - 1];
        }
        if (this.tailFrom >= i) this.tailFrom++;
      } else {
        start = E[n - 1];
        prev = C[n - 1];
      }
      this.lastPrevCpu = i > 0 ? C[i - 1] : this.oldestOwner;
      this.lastPrevEnd = i > 0 ? E[i - 1] : this.oldestEnd;
    }
    const end = start + this.cost(prev, cpu, pulls, ahead);
    this.count(prev, cpu, at, start, end, ahead);
    this.insert(i, start, end, cpu);
    return end;
  }

  /**
   * The index of the first gap at or after `at` that fits the RMW, or `n` for the end: the first
   * gap, from `at` to the next start, after the RMW before it by `prev`; then the gaps between
   * remembered RMWs, up to `tailFrom`. A gap fits a pull from another CPU if it is as wide as the
   * hop, a local RMW (after this CPU's own) if it is as wide as a local RMW.
   */
  private findGap(lo: number, at: number, cpu: number, prev: number, pulls: number): number {
    const S = this.starts;
    const E = this.ends;
    const C = this.cpus;
    const n = this.n;
    const leastPull = this.pullGap * pulls;
    let gap = S[lo] - at;
    if (this.fits(gap, prev, cpu, pulls)) return lo;
    if (lo >= this.tailFrom) return n;
    const last = Math.min(n - 1, this.tailFrom);
    if (cpu < this.cpuEnd.length && this.cpuEnd[cpu] <= at) {
      // No RMW of this CPU ends after `at` (a CPU's RMWs follow one another), so no later gap is
      // local: only gaps as wide as a pull (and its surcharge, which grows with the index) can
      // fit; skip blocks with none that wide.
      const G = this.gaps;
      const M = this.blockGap;
      for (let i = lo + 1; i <= last; ) {
        const b = i >> BLOCK_SHIFT;
        if (M[b] < leastPull + this.surcharge(i - lo)) {
          i = (b + 1) << BLOCK_SHIFT;
          continue;
        }
        for (const blockLast = Math.min(last, ((b + 1) << BLOCK_SHIFT) - 1); i <= blockLast; i++) {
          gap = G[i];
          if (gap >= leastPull + this.surcharge(i - lo) && this.cost(C[i - 1], cpu, pulls, i - lo) <= gap)
            return i;
        }
        // Nothing fitted: make the block's summary exact. Summaries only widen between compactions,
        // so a block whose wide gaps were split would be searched again and again.
        this.summarizeBlock(b);
      }
      return n;
    }
    for (let i = lo + 1; i <= last; i++)
      if (this.fits(S[i] - E[i - 1], C[i - 1], cpu, pulls, i - lo)) return i;
    return n;
  }

  /**
   * Whether a gap after an RMW by `prev` fits an access by `cpu` of `pulls` transactions with
   * `ahead` RMWs queued before it: as wide as those pulls from `prev`, or, after this CPU's own
   * RMW, as wide as a local one.
   */
  private fits(gap: number, prev: number, cpu: number, pulls: number, ahead = 0): boolean {
    if (prev === cpu) return gap >= this.localNs;
    return gap >= this.pullGap * pulls + this.surcharge(ahead) && this.cost(prev, cpu, pulls, ahead) <= gap;
  }

  /**
   * A late RMW issued before the horizon the calendar forgot up to would be misplaced: the engine's
   * horizon was not a lower bound after all, a bug.
   */
  private checkHorizon(at: number): void {
    if (at < this.floor)
      throw new Error(
        `${this.name}: an RMW issued at ${at} ns, before the horizon ${this.floor} ns its calendar forgot up to`,
      );
  }
}
