/**
 * Models no kernel file: the event trace of a simulation (`--trace`); its event kinds are in
 * trace-events.ts.
 */
import type { SimThread } from './thread.ts';
import type { TraceArgs, TraceKind } from './trace-events.ts';

/** One traced event: simulated time (ns), the thread, the kind and its arguments. */
export interface TraceEvent<K extends TraceKind = TraceKind> {
  time: number;
  thread: string;
  event: K;
  args: TraceArgs[K];
}

/** Options of a trace. */
export interface TracerOptions {
  /** Most events kept; past it the trace ends with a `trace_truncated` event. */
  limit?: number;
  /**
   * Receives the trace as JSON lines (each ending in a newline), in time order, a batch at a time.
   * Without it the events are kept in `Tracer.events`.
   */
  write?: (jsonLines: string) => void;
  /** Called once by `finish`, after the last write. */
  close?: () => void;
  /** Fewest pending events sorted and flushed at once (default 4096; small in tests). */
  batch?: number;
  /**
   * Receives every event (the limit does not apply), in the same time order, a batch at a time:
   * a second consumer beside the JSON lines (the Perfetto writer). With a sink and no `write`,
   * `events` stays empty.
   */
  sink?: TraceSink;
}

/** A consumer of the ordered events (see `TracerOptions.sink`). */
export interface TraceSink {
  /** A batch of events, in time order, after every earlier batch. */
  events(batch: readonly TraceEvent[]): void;
  /** Called once by `Tracer.finish`, after the last batch. */
  finish(): void;
}

/**
 * Optional event trace, in time order. Call sites test `engine.trace !== null` first, so a run
 * without a trace pays one comparison per traced site and builds nothing.
 *
 * Threads run ahead of each other (see `Engine`), so events are emitted out of time order. They
 * wait in a buffer and go out sorted by (time, emission order) once no thread can emit an earlier
 * one: every thread's time is at least the time of the step the engine is running (`Engine.now`;
 * a thread woken or given a CPU starts no earlier than the thread that did it). The buffer holds
 * only the events ahead of that time, and at most `limit` events are accepted in all: after that
 * the trace is cut at the time the limit was hit, which a final `trace_truncated` event records.
 * `finish` (which `runAccessTracking` calls) flushes the rest.
 */
export class Tracer {
  /** The events, in time order, when no `write` was given (complete after `finish`). */
  readonly events: TraceEvent[] = [];
  readonly limit: number;
  /** Events left out because of the limit. */
  dropped = 0;
  private readonly write: ((jsonLines: string) => void) | null;
  private readonly close: (() => void) | null;
  private readonly sink: TraceSink | null;
  /** Events not yet flushed, in emission order after each flush's sorted remainder. */
  private pending: TraceEvent[] = [];
  private readonly batch: number;
  private flushAt: number;
  private accepted = 0;
  /** Time the limit was hit: events from then on are left out. */
  private truncateAt = Number.POSITIVE_INFINITY;
  private finished = false;

  constructor(opts: TracerOptions = {}) {
    this.limit = opts.limit ?? 1_000_000;
    this.write = opts.write ?? null;
    this.close = opts.close ?? null;
    this.sink = opts.sink ?? null;
    this.batch = opts.batch ?? 4096;
    this.flushAt = this.batch;
  }

  /** Records `event` on thread `t` at `time` (default: `t`'s time, never before the engine's). */
  emit<K extends TraceKind>(t: SimThread, event: K, args: TraceArgs[K], time = t.now): void {
    if (this.accepted >= this.limit) {
      if (this.truncateAt === Number.POSITIVE_INFINITY) this.truncateAt = t.engine.now;
      // A sink gets every event; the JSON lines drop it at the flush (its time is at least the
      // engine's, so at least `truncateAt`), which counts it then.
      if (this.sink === null) {
        this.dropped++;
        return;
      }
    }
    this.accepted++;
    this.pending.push({ time, thread: t.name, event, args } as TraceEvent);
    if (this.pending.length >= this.flushAt) this.flush(t.engine.now);
  }

  /** Flushes every event (the simulation is over), then the truncation notice, then `close`. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.flush(Number.POSITIVE_INFINITY);
    this.sink?.finish();
    if (this.dropped > 0)
      this.out([
        {
          time: this.truncateAt,
          thread: 'tracer',
          event: 'trace_truncated',
          args: { limit: this.limit, dropped: this.dropped },
        },
      ]);
    this.close?.();
  }

  /** The kept events as JSON lines (without `write`). */
  toJsonLines(): string {
    return this.events.map((e) => JSON.stringify(e)).join('\n');
  }

  /** Writes out, sorted, the pending events no later than `upTo`; keeps the rest. */
  private flush(upTo: number): void {
    // Array.prototype.sort is stable: equal times keep emission order.
    const p = this.pending.sort((a, b) => a.time - b.time);
    let n = 0;
    while (n < p.length && p[n].time <= upTo) n++;
    let ready = n === p.length ? p : p.slice(0, n);
    this.pending = n === p.length ? [] : p.slice(n);
    this.flushAt = Math.max(this.batch, 2 * this.pending.length);
    if (ready.length > 0) this.sink?.events(ready);
    if (this.truncateAt !== Number.POSITIVE_INFINITY) {
      const kept = ready.filter((e) => e.time < this.truncateAt);
      this.dropped += ready.length - kept.length;
      ready = kept;
    }
    if (ready.length > 0) this.out(ready);
  }

  private out(events: TraceEvent[]): void {
    if (this.write === null) {
      if (this.sink !== null) return;
      for (const e of events) this.events.push(e);
      return;
    }
    let s = '';
    for (const e of events) s += `${JSON.stringify(e)}\n`;
    this.write(s);
  }
}
