/**
 * How many recent RMW intervals a line remembers at most, and how many it keeps when full. The
 * memory must span every RMW still in flight when one arrives late: with 112 vCPUs hammering a lock
 * word a 16-entry memory forgot queued RMWs and let late ones through (64-vCPU populate 3.8x too
 * fast); 256 and 512 give identical results up to 112 vCPUs.
 */
const CALENDAR = 512;
const KEEP = 256;

/** What atomics on a shared line cost on a machine (built once per engine from its profile). */
export interface LineCosts {
  /** RMW on a line the CPU owns. */
  localNs: number;
  /** Pulling the line from a CPU of the same socket. */
  transferNs: number;
  /** Pulling the line from a CPU on another socket. */
  remoteNs: number;
  /** Extra per RMW already queued on the line (their CPUs hold copies that must be invalidated). */
  sharerNs: number;
  /** Socket of each CPU, or null for a one-socket machine. */
  socketOf: Uint8Array | null;
}

/**
 * One contended cache line (a lock word). Atomic read-modify-writes on it never overlap: each takes
 * a local RMW's time if the CPU that touched the line just before it was the same, else a transfer
 * from that CPU, dearer from another socket. A transfer also pays for every RMW already queued when
 * it was issued: those CPUs spin reading the line, and pulling it for a write invalidates each copy.
 * So N CPUs hammering one lock word queue for up to N transfers each, and each transfer grows with
 * N: that is how acquisitions get dearer as contenders grow (queued rwlock hand-off, reader counts).
 *
 * Threads run critical sections in one step, so an RMW can be issued at a time earlier than one
 * already placed; the line keeps a calendar of its last RMWs and puts each new one into the first
 * gap at or after its issue time.
 */
export class CacheLine {
  private readonly issued = new Float64Array(CALENDAR + 1);
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

  private readonly localNs: number;
  private readonly transferNs: number;
  private readonly remoteNs: number;
  private readonly sharerNs: number;
  private readonly socketOf: Uint8Array | null;

  constructor(c: LineCosts) {
    this.localNs = c.localNs;
    this.transferNs = c.transferNs;
    this.remoteNs = c.remoteNs;
    this.sharerNs = c.sharerNs;
    this.socketOf = c.socketOf;
  }

  /** Cost of an RMW by `cpu` right after one by `prev` (-1: nobody), without queued sharers. */
  private hop(prev: number, cpu: number): number {
    if (prev === cpu) return this.localNs;
    const so = this.socketOf;
    if (so === null || prev < 0 || so[prev] === so[cpu]) return this.transferNs;
    return this.remoteNs;
  }

  /** An atomic RMW by `cpu` issued at `at`; returns when it completes. */
  rmw(at: number, cpu: number): number {
    const I = this.issued;
    const S = this.starts;
    const E = this.ends;
    const C = this.cpus;
    const n = this.n;
    let start = at;
    let prev = this.oldestOwner;
    let i = 0;
    // Extra a pull pays for the RMWs already queued on the line when this one was issued.
    let extra = 0;
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
      if (this.sharerNs > 0) {
        let queued = 0;
        for (let k = lo; k < n; k++) if (I[k] <= at) queued++;
        extra = queued * this.sharerNs;
      }
      if (i > 0) prev = C[i - 1];
      // A pull from another CPU costs at least this; only a gap that wide (or a local RMW's after
      // this CPU's own) is worth a closer look.
      const leastPull = this.transferNs + extra;
      for (; i < n; i++) {
        const gap = S[i] - start;
        if (
          (gap >= leastPull || (prev === cpu && gap >= this.localNs)) &&
          this.hop(prev, cpu) + (prev !== cpu ? extra : 0) <= gap
        )
          break;
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
    const end = start + this.hop(prev, cpu) + (transfer ? extra : 0);
    if (transfer) this.transfers++;
    for (let k = n; k > i; k--) {
      I[k] = I[k - 1];
      S[k] = S[k - 1];
      E[k] = E[k - 1];
      C[k] = C[k - 1];
    }
    I[i] = at;
    S[i] = start;
    E[i] = end;
    C[i] = cpu;
    if (n + 1 === CALENDAR) {
      // Forget all but the newest RMWs (one that would land before them is not placed exactly).
      const drop = CALENDAR - KEEP;
      this.oldestOwner = C[drop - 1];
      I.copyWithin(0, drop);
      S.copyWithin(0, drop);
      E.copyWithin(0, drop);
      C.copyWithin(0, drop);
      this.n = KEEP;
      this.tailFrom = Math.max(0, this.tailFrom - drop);
    } else this.n = n + 1;
    return end;
  }
}
