/** Models no kernel file: test helper that checks Chrome trace event files (nesting, metadata). */
// Checks a Chrome JSON Trace Event file as the Perfetto export tests need: slices nest per thread,
// every begin has its end, every thread used is named. Test support, not a kernel file.

/** One event of the file, as parsed. */
export interface ParsedTraceEvent {
  name: string;
  ph: string;
  cat?: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  id?: number;
  bp?: string;
  s?: string;
  args?: Record<string, unknown>;
}

/** What is wrong with the file (empty: nothing), and its events. */
export function checkTraceEvents(text: string): { problems: string[]; events: ParsedTraceEvent[] } {
  const doc = JSON.parse(text) as { traceEvents: ParsedTraceEvent[] };
  const events = doc.traceEvents;
  const problems: string[] = [];
  const named = new Set<string>();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') named.add(`${e.pid}/${e.tid}`);
  const threads = new Map<string, ParsedTraceEvent[]>();
  const asyncOpen = new Map<string, ParsedTraceEvent>();
  for (const e of events) {
    // Metadata, counters and global instants are on no thread.
    if (e.ph === 'M' || e.ph === 'C' || (e.ph === 'i' && e.s === 'g')) continue;
    const key = `${e.pid}/${e.tid}`;
    if (!named.has(key)) problems.push(`no thread_name for ${key} (${e.ph} ${e.name})`);
    if (e.ph === 'b' || e.ph === 'e') {
      const k = `${e.pid}/${e.cat}/${e.id}/${e.name}`;
      if (e.ph === 'b') asyncOpen.set(k, e);
      else if (!asyncOpen.delete(k)) problems.push(`async end without begin: ${k}`);
      continue;
    }
    const list = threads.get(key) ?? [];
    list.push(e);
    threads.set(key, list);
  }
  for (const k of asyncOpen.keys()) problems.push(`async begin without end: ${k}`);
  for (const [key, list] of threads) problems.push(...checkThread(key, list));
  return { problems, events };
}

/** Times never go back in file order; B/E pairs match; all slices form a laminar family. */
function checkThread(key: string, list: ParsedTraceEvent[]): string[] {
  const problems: string[] = [];
  const spans: [number, number, string][] = [];
  const stack: ParsedTraceEvent[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const e of list) {
    // Back to integer ns, so an X's end (ts + dur) compares exactly.
    const ts = Math.round((e.ts as number) * 1000);
    if (ts < last) problems.push(`${key}: ${e.ph} ${e.name} at ${ts} after ${last}`);
    last = Math.max(last, ts);
    if (e.ph === 'B') stack.push(e);
    else if (e.ph === 'E') {
      const b = stack.pop();
      if (b === undefined || b.name !== e.name)
        problems.push(`${key}: E ${e.name} at ${ts} closes ${b?.name}`);
      else spans.push([Math.round((b.ts as number) * 1000), ts, e.name]);
    } else if (e.ph === 'X') spans.push([ts, ts + Math.round((e.dur as number) * 1000), e.name]);
  }
  for (const b of stack) problems.push(`${key}: B ${b.name} at ${b.ts} never ends`);
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const open: [number, number, string][] = [];
  for (const s of spans) {
    while (open.length > 0 && open[open.length - 1][1] <= s[0]) open.pop();
    const top = open[open.length - 1];
    if (top !== undefined && s[1] > top[1])
      problems.push(`${key}: ${s[2]} [${s[0]}, ${s[1]}] overlaps ${top[2]} [${top[0]}, ${top[1]}]`);
    open.push(s);
  }
  return problems;
}
