/**
 * Models no kernel file: the engine's queue of runnable threads.
 * Binary min-heap of simulated-thread ids keyed by (time, sequence), stored in typed arrays.
 * Equal times pop in insertion (FIFO) order, like SimPy's (time, priority, id) key.
 */
export class EventHeap {
  private time: Float64Array;
  private seq: Float64Array;
  private id: Int32Array;
  private n = 0;
  private nextSeq = 0;

  constructor(capacity = 64) {
    this.time = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.id = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Time of the earliest entry, or +Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? this.time[0] : Number.POSITIVE_INFINITY;
  }

  push(time: number, id: number): void {
    if (this.n === this.time.length) this.grow();
    const s = this.nextSeq++;
    let i = this.n++;
    const T = this.time;
    const S = this.seq;
    const I = this.id;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (T[p] < time || (T[p] === time && S[p] < s)) break;
      T[i] = T[p];
      S[i] = S[p];
      I[i] = I[p];
      i = p;
    }
    T[i] = time;
    S[i] = s;
    I[i] = id;
  }

  /** Removes the earliest entry and returns its id (-1 when empty). */
  pop(): number {
    if (this.n === 0) return -1;
    const T = this.time;
    const S = this.seq;
    const I = this.id;
    const top = I[0];
    const n = --this.n;
    if (n === 0) return top;
    const t = T[n];
    const s = S[n];
    const id = I[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (T[r] < T[c] || (T[r] === T[c] && S[r] < S[c]))) c = r;
      if (t < T[c] || (t === T[c] && s < S[c])) break;
      T[i] = T[c];
      S[i] = S[c];
      I[i] = I[c];
      i = c;
    }
    T[i] = t;
    S[i] = s;
    I[i] = id;
    return top;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const t = new Float64Array(cap);
    t.set(this.time);
    const s = new Float64Array(cap);
    s.set(this.seq);
    const i = new Int32Array(cap);
    i.set(this.id);
    this.time = t;
    this.seq = s;
    this.id = i;
  }
}
