/** How many recent RMW intervals a line remembers. */
const CALENDAR = 16;

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
  private readonly starts = new Float64Array(CALENDAR);
  private readonly ends = new Float64Array(CALENDAR);
  private readonly cpus = new Int32Array(CALENDAR);
  private n = 0;
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
    } else {
      for (; i < n; i++) {
        if (E[i] <= start) {
          prev = C[i];
          continue;
        }
        const cost = prev === cpu ? this.localNs : this.transferNs;
        if (start + cost <= S[i]) break;
        start = E[i];
        prev = C[i];
      }
    }
    const transfer = prev !== cpu;
    const end = start + (transfer ? this.transferNs : this.localNs);
    if (transfer) this.transfers++;
    if (n === CALENDAR) {
      // Forget the oldest RMW to make room (an RMW older than all of them is not remembered).
      if (i === 0) return end;
      this.oldestOwner = C[0];
      for (let k = 1; k < i; k++) {
        S[k - 1] = S[k];
        E[k - 1] = E[k];
        C[k - 1] = C[k];
      }
      i--;
    } else {
      for (let k = n; k > i; k--) {
        S[k] = S[k - 1];
        E[k] = E[k - 1];
        C[k] = C[k - 1];
      }
      this.n = n + 1;
    }
    S[i] = start;
    E[i] = end;
    C[i] = cpu;
    return end;
  }
}
