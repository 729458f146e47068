/** Models no kernel file: Perfetto export: counters in fixed simulated-time buckets. */
// Counter tracks of the Perfetto export: quantities summed over fixed buckets of simulated time.
// Not a kernel file.

/**
 * Per-bucket sums of named series over simulated time from `origin`, in buckets of `bucketNs`.
 * `add` counts a point event, `addSpan` spreads a span's duration over the buckets it covers (so a
 * bucket's sum divided by its length is the average number of spans in progress: queue depth by
 * Little's law).
 */
export class BucketCounters {
  private readonly series = new Map<string, Float64Array>();
  /** Buckets used by any series. */
  buckets = 0;

  constructor(
    readonly origin: number,
    readonly bucketNs: number,
  ) {}

  /** Adds `v` to series `name` at `time`. */
  add(name: string, time: number, v = 1): void {
    const b = Math.floor((time - this.origin) / this.bucketNs);
    if (b < 0) return;
    this.at(name, b)[b] += v;
  }

  /** Adds the part of [s, e) in each bucket to series `name`. */
  addSpan(name: string, s: number, e: number): void {
    s = Math.max(s, this.origin);
    if (e <= s) return;
    const w = this.bucketNs;
    const last = Math.floor((e - this.origin) / w);
    const a = this.at(name, last);
    for (let b = Math.floor((s - this.origin) / w); b <= last; b++) {
      const lo = Math.max(s, this.origin + b * w);
      const hi = Math.min(e, this.origin + (b + 1) * w);
      if (hi > lo) a[b] += hi - lo;
    }
  }

  /** Series names in first-use order. */
  names(): string[] {
    return [...this.series.keys()];
  }

  /**
   * Series `name` as (bucket start, value) points, value = sum * `scale`, only where it changes
   * (a counter holds its value until the next point), ending with a point after the last bucket.
   */
  points(name: string, scale: number, buckets = this.buckets): [number, number][] {
    const a = this.series.get(name) ?? new Float64Array(0);
    const pts: [number, number][] = [];
    let prev = Number.NaN;
    for (let b = 0; b <= buckets; b++) {
      const v = b < buckets && b < a.length ? a[b] * scale : 0;
      if (v !== prev) pts.push([this.origin + b * this.bucketNs, v]);
      prev = v;
    }
    return pts;
  }

  private at(name: string, b: number): Float64Array {
    let a = this.series.get(name);
    if (a === undefined || a.length <= b) {
      const grown = new Float64Array(Math.max(64, 2 * (b + 1)));
      if (a !== undefined) grown.set(a);
      a = grown;
      this.series.set(name, a);
    }
    if (b + 1 > this.buckets) this.buckets = b + 1;
    return a;
  }
}
