/** How many recent RMW intervals a line remembers at most, and how many it keeps when full. */
const CALENDAR = 64;
const KEEP = 16;

/**
 * One contended cache line (a lock word). Atomic read-modify-writes on it never overlap: each takes
 * a local RMW's time if the CPU that touched the line just before it was the same, else a transfer
 * from that CPU. So N CPUs hammering one lock word queue for up to N transfers each, which is how
 * acquisitions get dearer as contenders grow.
 *
 * Threads run critical sections in one step, so an RMW can be issued at a time earlier than one
 * already placed; the line keeps a calendar of its last RMWs and puts each new one into the first
 * gap at or after its issue time.
 */
export class CacheLine {
  private readonly starts = new Float64Array(CALENDAR + 1);
  private readonly ends = new Float64Array(CALENDAR + 1);
  private readonly cpus = new Int32Array(CALENDAR + 1);
  private n = 0;
  /**
   * From this index on, no gap between remembered RMWs is as wide as a transfer; an RMW issued
   * there goes to the end (one by the CPU that owns the line could have fitted a local RMW into a
   * narrower gap: that is the approximation).
   */
  private tailFrom = 0;
  /** Owner before the oldest remembered RMW. */
  private oldestOwner = -1;
  /** RMWs that had to pull the line from another CPU. */
  transfers = 0;

  constructor(
    private readonly localNs: number,
    private readonly transferNs: number,
  ) {}

  /** An atomic RMW by `cpu` issued at `at`; returns when it completes. */
  rmw(at: number, cpu: number): number {
    const S = this.starts;
    const E = this.ends;
    const C = this.cpus;
    const n = this.n;
    let start = at;
    let prev = this.oldestOwner;
    let i = 0;
    if (n > 0 && at >= E[n - 1]) {
      // Common case: issued after every remembered RMW.
      i = n;
      prev = C[n - 1];
      if (at - E[n - 1] >= this.transferNs) this.tailFrom = n;
    } else if (n === 0) this.tailFrom = 0;
    else {
      // Intervals are sorted and disjoint: find the first that ends after `at`.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (E[mid] <= at) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
      if (i > 0) prev = C[i - 1];
      for (; i < n; i++) {
        const cost = prev === cpu ? this.localNs : this.transferNs;
        if (start + cost <= S[i]) break;
        if (i >= this.tailFrom) {
          // The rest of the calendar is back to back: go to its end.
          i = n;
          start = E[n - 1];
          prev = C[n - 1];
          break;
        }
        start = E[i];
        prev = C[i];
      }
      if (i < n && this.tailFrom >= i) this.tailFrom++;
    }
    const transfer = prev !== cpu;
    const end = start + (transfer ? this.transferNs : this.localNs);
    if (transfer) this.transfers++;
    for (let k = n; k > i; k--) {
      S[k] = S[k - 1];
      E[k] = E[k - 1];
      C[k] = C[k - 1];
    }
    S[i] = start;
    E[i] = end;
    C[i] = cpu;
    if (n + 1 === CALENDAR) {
      // Forget all but the newest RMWs (one that would land before them is not placed exactly).
      const drop = CALENDAR - KEEP;
      this.oldestOwner = C[drop - 1];
      S.copyWithin(0, drop);
      E.copyWithin(0, drop);
      C.copyWithin(0, drop);
      this.n = KEEP;
      this.tailFrom = Math.max(0, this.tailFrom - drop);
    } else this.n = n + 1;
    return end;
  }
}
