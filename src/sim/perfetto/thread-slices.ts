/** Models no kernel file: Perfetto export: per-thread slice nesting. */
// One thread's slices in the Perfetto export, placed so that they nest. Not a kernel file.
import { fmtUs } from './perfetto-json.ts';

const B = 0;
const E = 1;
/** A complete slice ('X'), or anything that does not open or close one (instants, flows). */
const LEAF = 2;

/** One written line: its time, what it does to the nesting, its JSON, and when an 'X' line ends. */
interface Rec {
  time: number;
  kind: number;
  json: string;
  end: number;
}

/** A B/E slice of the thread not ended yet. */
export interface OpenSpan {
  key: string;
  name: string;
  cat: string;
  /** Its 'B' line, once placed (null: it began before the window). */
  rec: Rec | null;
}

/**
 * The slices of one simulated thread, written as 'B'/'E' pairs (and 'X' for lock waits) in an order
 * where every slice on the thread nests in the ones around it.
 *
 * Events arrive in time order, but a span reported when it ends (an event with an `ns` argument)
 * began in the past, possibly before slices already seen: it must enclose them. The last lines stay
 * in a buffer (at most `buffer`, then the older half is written) so such a span can be put in front
 * of the lines it encloses. A span that would overlap another partially, or begin before what was
 * already written, is refused (`insert` returns false) and the caller draws it as an async slice.
 */
export class ThreadSlices {
  readonly open: OpenSpan[] = [];
  /** Lines not written yet, in file order. */
  private pending: Rec[] = [];
  /** Time and kind of the last line written (-Infinity: none), and the latest end among them. */
  private frontier = Number.NEGATIVE_INFINITY;
  private frontierKind = E;
  private frontierEnd = Number.NEGATIVE_INFINITY;
  /** Spans ended early because an enclosing span ended first (the model never does this). */
  forcedCloses = 0;

  constructor(
    readonly pid: number,
    readonly tid: number,
    private readonly out: (json: string) => void,
    private readonly buffer = 1024,
  ) {
    this.ids = `,"pid":${pid},"tid":${tid}`;
  }

  /** Opens a B/E span at `time`; `place` false: it began before the window (placed by `placeOpen`). */
  begin(key: string, name: string, cat: string, time: number, args: object, place: boolean): OpenSpan {
    const span: OpenSpan = { key, name, cat, rec: null };
    this.open.push(span);
    if (place) span.rec = this.push(time, B, this.json('B', name, cat, time, args));
    return span;
  }

  /** Places the 'B' line at `time` of every open span not placed yet (the window starts). */
  placeOpen(time: number): void {
    for (const s of this.open)
      if (s.rec === null) s.rec = this.push(time, B, this.json('B', s.name, s.cat, time, { clipped: true }));
  }

  /**
   * Ends the innermost open span with `key` at `time` (with `args` on its 'E'); spans opened inside
   * it and still open end with it. Returns the span, or null if none is open (its begin was not seen).
   */
  end(key: string, time: number, args: object | undefined): OpenSpan | null {
    let i = this.open.length - 1;
    while (i >= 0 && this.open[i].key !== key) i--;
    if (i < 0) return null;
    while (this.open.length - 1 > i) {
      this.forcedCloses++;
      this.closeTop(time, { endedWithParent: true });
    }
    return this.closeTop(time, args);
  }

  /** Appends a line that does not nest (an instant) or extends `rec` (a flow start bound to it). */
  leaf(time: number, json: string): void {
    this.push(time, LEAF, json);
  }

  /** Adds `json` right after the 'B' line of `span`, if it is not written yet; false if it is. */
  attach(span: OpenSpan | { rec: Rec | null }, json: string): boolean {
    const r = span.rec;
    if (r === null || !this.pending.includes(r)) return false;
    r.json += `,\n${json}`;
    return true;
  }

  /**
   * Puts a span [s, e] that has ended into place: `beginJson` before the lines it encloses, and
   * `endJson` (null for an 'X' line) after them. False if it cannot nest here.
   */
  insert(s: number, e: number, beginJson: string, endJson: string | null): boolean {
    const p = this.pending;
    let i = p.length;
    while (i > 0 && (p[i - 1].time > s || (p[i - 1].time === s && p[i - 1].kind !== E))) i--;
    // A span still open that began at `s` encloses this one.
    while (i < p.length && p[i].time === s && this.open.some((o) => o.rec === p[i])) i++;
    if (i === 0 && (s < this.frontier || (s === this.frontier && this.frontierKind !== E))) return false;
    // An 'X' line before it on the same level (one that arrived, so ended, before the lines after
    // it) must have ended by `s`.
    let k = i - 1;
    while (k >= 0 && p[k].kind === LEAF) if (p[k--].end > s) return false;
    if (k < 0 && this.frontierEnd > s) return false;
    let d = 0;
    for (let j = i; j < p.length; j++) {
      if (p[j].kind === B) d++;
      else if (p[j].kind === E && --d < 0) return false;
    }
    if (d !== 0) return false;
    p.splice(i, 0, { time: s, kind: endJson === null ? LEAF : B, json: beginJson, end: e });
    if (endJson !== null) this.push(e, E, endJson);
    else this.trim();
    return true;
  }

  /** Ends every open span at `time` and writes everything. */
  finish(time: number): void {
    while (this.open.length > 0) this.closeTop(time, { unfinished: true });
    this.writeUpTo(this.pending.length);
  }

  /** JSON before `ts` of each (ph, name, cat) used: most lines differ only in time and args. */
  private readonly heads = new Map<string, string>();
  private readonly ids: string;

  /**
   * A B, E or X line of this thread, the same text as `eventJson` gives; `args` an object or its
   * JSON already.
   */
  json(
    ph: 'B' | 'E' | 'X',
    name: string,
    cat: string,
    ts: number,
    args?: object | string,
    dur?: number,
  ): string {
    const k = `${ph}${name}\u0000${cat}`;
    let head = this.heads.get(k);
    if (head === undefined) {
      head = `{"name":${JSON.stringify(name)},"cat":${JSON.stringify(cat)},"ph":"${ph}","ts":`;
      this.heads.set(k, head);
    }
    let s = head + fmtUs(ts);
    if (dur !== undefined) s += `,"dur":${fmtUs(dur)}`;
    s += this.ids;
    if (args !== undefined) s += `,"args":${typeof args === 'string' ? args : JSON.stringify(args)}`;
    return `${s}}`;
  }

  private closeTop(time: number, args: object | undefined): OpenSpan {
    const span = this.open.pop() as OpenSpan;
    if (span.rec !== null) this.push(time, E, this.json('E', span.name, span.cat, time, args));
    return span;
  }

  private push(time: number, kind: number, json: string): Rec {
    const r = { time, kind, json, end: time };
    this.pending.push(r);
    this.trim();
    return r;
  }

  private trim(): void {
    if (this.pending.length > this.buffer) this.writeUpTo(this.pending.length >> 1);
  }

  private writeUpTo(n: number): void {
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      this.out(this.pending[i].json);
      if (this.pending[i].end > this.frontierEnd) this.frontierEnd = this.pending[i].end;
    }
    this.frontier = this.pending[n - 1].time;
    this.frontierKind = this.pending[n - 1].kind;
    this.pending = this.pending.slice(n);
  }
}
