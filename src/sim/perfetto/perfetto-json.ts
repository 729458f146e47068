/** Models no kernel file: Perfetto export: Chrome JSON trace event formatting. */
// Chrome JSON Trace Event Format (the format ui.perfetto.dev and chrome://tracing load): one
// event object, with simulated nanoseconds written as exact microseconds. Not a kernel file.

/** Simulated ns as Trace Event microseconds: exact, the same text for the same number. */
export function fmtUs(ns: number): string {
  if (!Number.isSafeInteger(ns)) return (ns / 1000).toFixed(6);
  const sign = ns < 0 ? '-' : '';
  const a = Math.abs(ns);
  const frac = a % 1000;
  const whole = (a - frac) / 1000;
  return frac === 0
    ? `${sign}${whole}`
    : `${sign}${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

/** One Trace Event; `ts` and `dur` in simulated ns (written as µs). */
export interface TraceEventRecord {
  name: string;
  /** Phase: B/E duration, X complete, b/e async, i instant, C counter, s/f flow, M metadata. */
  ph: 'B' | 'E' | 'X' | 'b' | 'e' | 'i' | 'C' | 's' | 'f' | 'M';
  cat?: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  id?: number;
  /** Flow end binding point: 'e' binds to the enclosing slice. */
  bp?: 'e';
  /** Instant scope: t thread, p process, g global. */
  s?: 't' | 'p' | 'g';
  args?: object;
}

/** The event as JSON, keys in a fixed order (byte-identical for the same event). */
export function eventJson(e: TraceEventRecord): string {
  let s = `{"name":${JSON.stringify(e.name)}`;
  if (e.cat !== undefined) s += `,"cat":${JSON.stringify(e.cat)}`;
  s += `,"ph":"${e.ph}"`;
  if (e.ts !== undefined) s += `,"ts":${fmtUs(e.ts)}`;
  if (e.dur !== undefined) s += `,"dur":${fmtUs(e.dur)}`;
  s += `,"pid":${e.pid}`;
  if (e.tid !== undefined) s += `,"tid":${e.tid}`;
  if (e.id !== undefined) s += `,"id":${e.id}`;
  if (e.bp !== undefined) s += `,"bp":"${e.bp}"`;
  if (e.s !== undefined) s += `,"s":"${e.s}"`;
  if (e.args !== undefined) s += `,"args":${JSON.stringify(e.args)}`;
  return `${s}}`;
}
