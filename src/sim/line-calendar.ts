/** Models no kernel file: the simulator's record of the RMWs a contended cache line has placed. */

/**
 * How many RMW intervals a line's calendar holds at first. When it is full it forgets the RMWs that
 * ended by the engine's horizon (the earliest time any thread can still issue one: no later RMW
 * can be placed before or among them), and doubles if more than half of it is still in flight. A
 * fixed memory is not enough: with 112 vCPUs and write-locked aging, keeping the newest 256 of at
 * most 512, 1024, 2048 or 4096 RMWs gave vCPU walls of 0.648, 0.681, 0.702 and 0.712 s (112 x 64
 * MiB, no opt), a late RMW taking a gap that forgotten RMWs had filled.
 */
const CALENDAR = 1024;
/** Records per block of the calendar's summaries (a bound on the widest gap in each block). */
export const BLOCK_SHIFT = 4;
const BLOCK_MASK = (1 << BLOCK_SHIFT) - 1;
/** Up to this many records move up one by one when an RMW is inserted; more with one memmove each. */
const SHORT_SHIFT = 8;

/** How many of the first `count` values of the sorted `a` are at most `x` (binary search). */
export function countUpTo(a: Float64Array, count: number, x: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The calendar of one line: the RMWs placed on it as sorted, disjoint intervals (start, end, CPU,
 * the gap before each), with a per-block bound on the widest gap so that a late RMW can skip
 * blocks it cannot fit. `CacheLine` decides where an RMW goes and what it costs; this class only
 * stores the result, forgets what the horizon has passed and grows when it must (tested through
 * `CacheLine` in cache-line.test.ts: the linear-scan reference, growth and forgetting).
 */
export abstract class LineCalendar {
  /** Records the calendar can hold before it is compacted. */
  private cap = CALENDAR;
  protected starts = new Float64Array(CALENDAR + 1);
  protected ends = new Float64Array(CALENDAR + 1);
  protected cpus = new Int32Array(CALENDAR + 1);
  /** Gap between RMW i - 1 and RMW i (0 for the first). */
  protected gaps = new Float64Array(CALENDAR + 1);
  /** Per block of BLOCK records: at least its widest gap (exact after a compaction). */
  protected blockGap = new Float64Array((CALENDAR >> BLOCK_SHIFT) + 1);
  /** Latest end of an RMW by each CPU. */
  protected cpuEnd = new Float64Array(8);
  protected n = 0;
  /**
   * From this index on, no gap between remembered RMWs is as wide as the line's `pullGap` (kept by
   * `CacheLine`); an RMW issued there goes to the end (one by the CPU that owns the line could have
   * fitted a local RMW into a narrower gap: that is the approximation).
   */
  protected tailFrom = 0;
  /** Owner before the oldest remembered RMW, and when its RMW ended (-1: none). */
  protected oldestOwner = -1;
  protected oldestEnd = -1;
  /** The horizon the calendar last forgot up to: no RMW may be issued before it. */
  protected floor = Number.NEGATIVE_INFINITY;

  /**
   * `horizon`: the earliest time at which an RMW can still be issued (the engine's
   * `earliestFutureTime`); without one the calendar forgets nothing.
   */
  constructor(private readonly horizon: () => number = () => Number.NEGATIVE_INFINITY) {}

  /** Recomputes every block's widest gap exactly from the records below `this.n`. */
  private summarize(): void {
    for (let b = 0; b <= this.cap >> BLOCK_SHIFT; b++) this.summarizeBlock(b);
  }

  /** Recomputes block `b`'s widest gap exactly. */
  protected summarizeBlock(b: number): void {
    const G = this.gaps;
    let gap = 0;
    for (let k = b << BLOCK_SHIFT, e = Math.min(this.n, (b + 1) << BLOCK_SHIFT); k < e; k++)
      if (G[k] > gap) gap = G[k];
    this.blockGap[b] = gap;
  }

  /** Widens block `b`'s summary to gap `k` (or makes it that gap alone when `fresh`). */
  private note(b: number, k: number, fresh: boolean): void {
    const gap = this.gaps[k];
    if (fresh || gap > this.blockGap[b]) this.blockGap[b] = gap;
  }

  /** `insert` at the end, for an RMW that started when issued, `gap` after the last one. */
  protected append(at: number, end: number, gap: number, cpu: number): void {
    const n = this.n;
    this.starts[n] = at;
    this.ends[n] = end;
    this.cpus[n] = cpu;
    this.gaps[n] = gap;
    this.n = n + 1;
    this.note(n >> BLOCK_SHIFT, n, (n & BLOCK_MASK) === 0);
    if (cpu >= this.cpuEnd.length) this.growCpuEnd(cpu);
    if (end > this.cpuEnd[cpu]) this.cpuEnd[cpu] = end;
    if (n + 1 === this.cap) this.compact();
  }

  private growCpuEnd(cpu: number): void {
    const grown = new Float64Array(Math.max(cpu + 1, this.cpuEnd.length * 2));
    grown.set(this.cpuEnd);
    this.cpuEnd = grown;
  }

  /**
   * Forgets the RMWs that ended by the horizon (the CPU of the last one stays the owner a later
   * RMW pulls from), and doubles the calendar if more than half of it is still in flight.
   */
  private compact(): void {
    const n = this.n;
    this.floor = this.horizon();
    const drop = countUpTo(this.ends, n, this.floor);
    if (drop > 0) {
      this.oldestOwner = this.cpus[drop - 1];
      this.oldestEnd = this.ends[drop - 1];
      this.starts.copyWithin(0, drop, n);
      this.ends.copyWithin(0, drop, n);
      this.cpus.copyWithin(0, drop, n);
      this.gaps.copyWithin(0, drop, n);
      this.gaps[0] = 0;
      this.n = n - drop;
      this.tailFrom = Math.max(0, this.tailFrom - drop);
    }
    if (this.n > this.cap >> 1) this.grow();
    this.summarize();
  }

  /** Doubles the calendar's capacity, keeping its records. */
  private grow(): void {
    const cap = this.cap * 2;
    const n = this.n;
    const wider = (a: Float64Array) => {
      const b = new Float64Array(cap + 1);
      b.set(a.subarray(0, n));
      return b;
    };
    this.starts = wider(this.starts);
    this.ends = wider(this.ends);
    this.gaps = wider(this.gaps);
    const cpus = new Int32Array(cap + 1);
    cpus.set(this.cpus.subarray(0, n));
    this.cpus = cpus;
    this.blockGap = new Float64Array((cap >> BLOCK_SHIFT) + 1);
    this.cap = cap;
  }

  /** Puts an RMW record at index `i`, moving the later ones up; compacts the calendar when full. */
  protected insert(i: number, start: number, end: number, cpu: number): void {
    const S = this.starts;
    const E = this.ends;
    const C = this.cpus;
    const G = this.gaps;
    const n = this.n;
    if (n - i > SHORT_SHIFT) {
      S.copyWithin(i + 1, i, n);
      E.copyWithin(i + 1, i, n);
      C.copyWithin(i + 1, i, n);
      G.copyWithin(i + 1, i, n);
    } else {
      for (let k = n; k > i; k--) {
        S[k] = S[k - 1];
        E[k] = E[k - 1];
        C[k] = C[k - 1];
        G[k] = G[k - 1];
      }
    }
    S[i] = start;
    E[i] = end;
    C[i] = cpu;
    G[i] = i > 0 ? start - E[i - 1] : 0;
    if (i < n) G[i + 1] = S[i + 1] - end;
    this.n = n + 1;
    // Block summaries: the new gaps join their block (a split gap only narrows, so a summary stays
    // an upper bound), and each later block gains the record that moved up into it. Exact again
    // when the calendar is compacted.
    this.note(i >> BLOCK_SHIFT, i, i === n && (n & BLOCK_MASK) === 0);
    if (i < n) this.note((i + 1) >> BLOCK_SHIFT, i + 1, false);
    for (let b = (i >> BLOCK_SHIFT) + 1, last = n >> BLOCK_SHIFT; b <= last; b++)
      this.note(b, b << BLOCK_SHIFT, b << BLOCK_SHIFT === n);
    if (cpu >= this.cpuEnd.length) this.growCpuEnd(cpu);
    if (end > this.cpuEnd[cpu]) this.cpuEnd[cpu] = end;
    if (n + 1 === this.cap) this.compact();
  }
}
