/** Models no kernel file: the engine's optional event trace. */
/** One traced event. */
export interface TraceEvent {
  time: number;
  thread: string;
  event: string;
  detail: string;
}

/**
 * Optional event trace. Call sites test `engine.trace !== null` first, so a run without a trace
 * pays one comparison per traced site and builds no strings.
 */
export class Tracer {
  readonly events: TraceEvent[] = [];
  constructor(readonly limit = 1_000_000) {}

  emit(time: number, thread: string, event: string, detail = ''): void {
    if (this.events.length < this.limit) this.events.push({ time, thread, event, detail });
  }

  /** The trace as JSON lines. */
  toJsonLines(): string {
    return this.events.map((e) => JSON.stringify(e)).join('\n');
  }
}
