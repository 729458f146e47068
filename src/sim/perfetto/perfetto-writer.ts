/** Models no kernel file: Perfetto export: the streaming writer fed by the ordered trace. */
// The Perfetto export (`--perfetto`): the ordered event trace turned into Chrome JSON Trace Event
// Format while the simulation runs (docs/perfetto.md). Not a kernel file.
import type { TraceEvent, TraceSink } from '../trace.ts';
import type { TraceArgs } from '../trace-events.ts';
import { BucketCounters } from './bucket-counters.ts';
import { eventJson, type TraceEventRecord } from './perfetto-json.ts';
import {
  INSTANTS,
  PID_KTHREADS,
  PID_TEST,
  SPAN_BEGINS,
  SPAN_ENDS,
  TID_NOTIFIER,
  threadIds,
} from './perfetto-kinds.ts';
import { type OpenSpan, ThreadSlices } from './thread-slices.ts';

const READ = '{"side":"read"}';
const WRITE = '{"side":"write"}';

/** Default width of a counter bucket: 100 µs of simulated time. */
export const PERFETTO_BUCKET_NS = 100_000;
/** Default most trace events converted; the export is cut at the time the next one happens. */
export const PERFETTO_EVENT_CAP = 1_000_000;

/** Options of a Perfetto export. */
export interface PerfettoOptions {
  /** Receives the file's text, in order, a chunk at a time. */
  write: (text: string) => void;
  /** Called once after the last write. */
  close?: () => void;
  /** Simulated time kept, [start, end) in ns (default: all); slices are clipped to it. */
  window?: { start: number; end: number };
  /** Most trace events converted (default `PERFETTO_EVENT_CAP`). */
  cap?: number;
  /** Counter bucket width in ns (default `PERFETTO_BUCKET_NS`). */
  bucketNs?: number;
  /** Lines each thread keeps back to nest spans reported when they end (default 1024). */
  buffer?: number;
  /** Name of process 1 (the selftest's threads). */
  processName?: string;
}

/**
 * A `TraceSink` that writes the Trace Event JSON as the sorted events arrive: one track per
 * simulated thread, B/E slices, lock waits as X slices, phases and slices that cannot nest as
 * async slices, flows from each aging walk to a derived KVM clear_young track, and counters (faults
 * per second, average lock waiters, max_seq) written at the end. Memory stays bounded: each thread
 * keeps at most `buffer` lines back, and counters one number per bucket and series.
 */
export class PerfettoWriter implements TraceSink {
  private readonly start: number;
  private end: number;
  private readonly userEnd: number;
  private readonly cap: number;
  private readonly counters: BucketCounters;
  private readonly threads = new Map<string, ThreadSlices>();
  private readonly notifiers = new Map<string, ThreadSlices>();
  private readonly otherTids = new Map<string, number>();
  private readonly phases = new Map<string, number[]>();
  private started = false;
  private lastTime = 0;
  private converted = 0;
  private capHitAt = -1;
  private dropped = 0;
  private nextId = 1;
  private asyncFallbacks = 0;
  private flowsLost = 0;
  private first = true;
  private buf = '';
  private finished = false;

  constructor(private readonly opts: PerfettoOptions) {
    this.start = opts.window?.start ?? 0;
    this.userEnd = opts.window?.end ?? Number.POSITIVE_INFINITY;
    this.end = this.userEnd;
    this.cap = opts.cap ?? PERFETTO_EVENT_CAP;
    this.counters = new BucketCounters(this.start, opts.bucketNs ?? PERFETTO_BUCKET_NS);
    opts.write('{"traceEvents":[\n');
    this.meta(PID_TEST, undefined, 'process_name', { name: opts.processName ?? 'mmulab (simulated)' });
    this.meta(PID_KTHREADS, undefined, 'process_name', { name: 'kernel threads (simulated)' });
  }

  events(batch: readonly TraceEvent[]): void {
    for (const e of batch) this.event(e);
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const t = Math.max(this.start, Math.min(this.lastTime, this.end));
    for (const [name, starts] of this.phases) for (const s of starts) this.phase(name, s, t);
    for (const th of this.threads.values()) th.finish(t);
    for (const th of this.notifiers.values()) th.finish(t);
    this.writeCounters(t);
    if (this.capHitAt >= 0)
      this.line({
        name: 'perfetto_truncated',
        ph: 'i',
        s: 'g',
        ts: this.capHitAt,
        pid: PID_TEST,
        args: { cap: this.cap, dropped: this.dropped },
      });
    const other = {
      generator: 'mmulab --perfetto',
      timestamps: 'simulated time',
      window: [this.start, this.userEnd === Number.POSITIVE_INFINITY ? null : this.userEnd],
      cap: this.cap,
      converted: this.converted,
      truncatedAt: this.capHitAt >= 0 ? this.capHitAt : null,
      dropped: this.dropped,
      bucketNs: this.counters.bucketNs,
      asyncFallbacks: this.asyncFallbacks,
      forcedCloses: [...this.threads.values()].reduce((n, th) => n + th.forcedCloses, 0),
      flowsLost: this.flowsLost,
    };
    this.opts.write(`${this.buf}\n],"displayTimeUnit":"ns","otherData":${JSON.stringify(other)}}\n`);
    this.buf = '';
    this.opts.close?.();
  }

  private event(ev: TraceEvent): void {
    const t = ev.time;
    this.lastTime = t;
    if (!this.started && t >= this.start) {
      this.started = true;
      for (const th of this.threads.values()) th.placeOpen(this.start);
    }
    // The cap: once `cap` events are converted, the export ends at the next event's time.
    if (this.capHitAt < 0 && this.converted >= this.cap && t < this.end) {
      this.capHitAt = t;
      this.end = t;
    }
    if (this.capHitAt >= 0 && t < this.userEnd) this.dropped++;
    const th = this.thread(ev.thread);
    const inWin = t >= this.start && t < this.end;
    const begin = SPAN_BEGINS[ev.event];
    if (begin !== undefined) {
      if (inWin) this.converted++;
      th.begin(begin.key, begin.name, begin.cat, t, ev.args, inWin);
      if (ev.event === 'ept_violation_begin' && inWin) this.counters.add('ept_violation/s', t);
      return;
    }
    const endKey = SPAN_ENDS[ev.event];
    if (endKey !== undefined) {
      if (t < this.start) th.end(endKey, t, undefined);
      else {
        const span = th.end(endKey, Math.min(t, this.end), ev.args);
        if (span !== null && span.rec !== null) this.converted++;
        if (ev.event === 'walk_mm_end' && span !== null)
          this.walkFlow(ev as TraceEvent<'walk_mm_end'>, th, span);
        if (ev.event === 'try_to_inc_max_seq_end' && inWin)
          this.maxSeq(ev as TraceEvent<'try_to_inc_max_seq_end'>);
      }
      return;
    }
    const cat = INSTANTS[ev.event];
    if (cat !== undefined) {
      if (!inWin) return;
      this.converted++;
      th.leaf(
        t,
        eventJson({ name: ev.event, cat, ph: 'i', s: 't', ts: t, pid: th.pid, tid: th.tid, args: ev.args }),
      );
      return;
    }
    if (ev.event === 'phase_start') {
      const name = (ev.args as TraceArgs['phase_start']).name;
      const starts = this.phases.get(name) ?? [];
      starts.push(t);
      this.phases.set(name, starts);
    } else if (ev.event === 'phase_end') {
      const a = ev.args as TraceArgs['phase_end'];
      const s = this.phases.get(a.name)?.pop() ?? t - a.ns;
      if (this.phase(a.name, s, t)) this.converted++;
    } else if (ev.event === 'handle_mm_fault') {
      const a = ev.args as TraceArgs['handle_mm_fault'];
      if (inWin) this.counters.add('handle_mm_fault/s', t);
      const args = `{"hva":"0x${a.hva.toString(16)}","write":${a.write},"ret":${a.ret}}`;
      if (this.span(th, 'handle_mm_fault', 'mm', t - a.ns, t, args, false)) this.converted++;
    } else if (ev.event === 'lock_wait') {
      const a = ev.args as TraceArgs['lock_wait'];
      if (this.span(th, a.lock, 'lock_wait', t - a.ns, t, a.side === 'read' ? READ : WRITE, true)) {
        this.converted++;
        this.counters.addSpan(`waiters ${a.lock}`, Math.max(t - a.ns, this.start), Math.min(t, this.end));
      }
    }
  }

  /** A span [s, e] reported at its end, clipped to the window: nested on `th`, or async. */
  private span(
    th: ThreadSlices,
    name: string,
    cat: string,
    s: number,
    e: number,
    args: string,
    x: boolean,
  ): boolean {
    if (e < this.start || s >= this.end) return false;
    s = Math.max(s, this.start);
    e = Math.min(e, this.end);
    const ok = x
      ? th.insert(s, e, th.json('X', name, cat, s, args, e - s), null)
      : th.insert(s, e, th.json('B', name, cat, s, args), th.json('E', name, cat, e));
    if (!ok) {
      this.asyncFallbacks++;
      const id = this.nextId++;
      const r = { name, cat, pid: th.pid, tid: th.tid };
      this.line({ ...r, ph: 'b', ts: s, id, args: JSON.parse(args) });
      this.line({ ...r, ph: 'e', ts: e, id });
    }
    return true;
  }

  /** A selftest phase [s, e] as an async slice of the selftest process; false if outside the window. */
  private phase(name: string, s: number, e: number): boolean {
    if (e < this.start || s >= this.end) return false;
    const id = this.nextId++;
    const r = { name, cat: 'phase', pid: PID_TEST, tid: 1, id };
    this.line({ ...r, ph: 'b', ts: Math.max(s, this.start) });
    this.line({ ...r, ph: 'e', ts: Math.min(e, this.end) });
    return true;
  }

  /**
   * One flow per walk that made clear-young calls: from the walk_mm slice on the aging thread to a
   * slice of the same time on the thread's derived "KVM clear_young" track, which carries the count.
   */
  private walkFlow(ev: TraceEvent<'walk_mm_end'>, th: ThreadSlices, span: OpenSpan): void {
    const a = ev.args;
    const rec = span.rec;
    if (!a.walked || a.clearYoung === 0 || rec === null) return;
    const s = rec.time;
    const e = Math.min(ev.time, this.end);
    const id = this.nextId++;
    const flow = { name: 'clear_young', cat: 'flow', ts: s, id };
    if (!th.attach(span, eventJson({ ...flow, ph: 's', pid: th.pid, tid: th.tid }))) {
      this.flowsLost++;
      return;
    }
    const kvm = this.notifier(ev.thread, th);
    const r = { name: 'kvm clear_young', cat: 'kvm', pid: kvm.pid, tid: kvm.tid };
    const args = { calls: a.clearYoung, young: a.young, ptes: a.ptes, seq: a.seq };
    const b = `${eventJson({ ...r, ph: 'B', ts: s, args })},\n${eventJson({ ...flow, ph: 'f', bp: 'e', pid: kvm.pid, tid: kvm.tid })}`;
    if (!kvm.insert(s, e, b, eventJson({ ...r, ph: 'E', ts: e }))) this.flowsLost++;
  }

  private maxSeq(ev: TraceEvent<'try_to_inc_max_seq_end'>): void {
    const a = ev.args;
    if (!a.incremented) return;
    this.line({
      name: `max_seq ${a.memcg} node${a.nid}`,
      ph: 'C',
      ts: ev.time,
      pid: PID_TEST,
      args: { value: a.seq + 1 },
    });
  }

  private writeCounters(t: number): void {
    const c = this.counters;
    const buckets = Math.ceil((t - c.origin) / c.bucketNs);
    for (const name of c.names()) {
      const perSecond = name.endsWith('/s');
      for (const [ts, v] of c.points(name, perSecond ? 1e9 / c.bucketNs : 1 / c.bucketNs, buckets)) {
        // Average waiters to 6 decimals (a sum of ns over the bucket: no more digits are real).
        const value = perSecond ? v : Math.round(v * 1e6) / 1e6;
        this.line({ name, ph: 'C', ts, pid: PID_TEST, args: { value } });
      }
    }
  }

  private thread(name: string): ThreadSlices {
    let th = this.threads.get(name);
    if (th === undefined) {
      const { pid, tid } = threadIds(name, this.otherTids);
      th = new ThreadSlices(pid, tid, (j) => this.raw(j), this.opts.buffer);
      this.threads.set(name, th);
      this.meta(pid, tid, 'thread_name', { name });
      this.meta(pid, tid, 'thread_sort_index', { sort_index: tid });
    }
    return th;
  }

  private notifier(name: string, aging: ThreadSlices): ThreadSlices {
    let th = this.notifiers.get(name);
    if (th === undefined) {
      const tid = TID_NOTIFIER + aging.tid;
      th = new ThreadSlices(aging.pid, tid, (j) => this.raw(j), this.opts.buffer);
      this.notifiers.set(name, th);
      this.meta(aging.pid, tid, 'thread_name', { name: `KVM clear_young (from ${name})` });
      this.meta(aging.pid, tid, 'thread_sort_index', { sort_index: tid });
    }
    return th;
  }

  private meta(pid: number, tid: number | undefined, name: string, args: object): void {
    this.line({ name, ph: 'M', pid, tid, args });
  }

  private line(e: TraceEventRecord): void {
    this.raw(eventJson(e));
  }

  private raw(json: string): void {
    this.buf += this.first ? json : `,\n${json}`;
    this.first = false;
    if (this.buf.length >= 1 << 20) {
      this.opts.write(this.buf);
      this.buf = '';
    }
  }
}
