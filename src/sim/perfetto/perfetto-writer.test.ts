import { describe, expect, it } from 'vitest';
import { checkTraceEvents, type ParsedTraceEvent } from '../../testing/trace-event-check.ts';
import type { TraceEvent } from '../trace.ts';
import type { TraceArgs, TraceKind } from '../trace-events.ts';
import { fmtUs } from './perfetto-json.ts';
import { type PerfettoOptions, PerfettoWriter } from './perfetto-writer.ts';

function ev<K extends TraceKind>(time: number, thread: string, event: K, args: TraceArgs[K]): TraceEvent {
  return { time, thread, event, args } as TraceEvent;
}

/** Writes `events` through a PerfettoWriter; returns the text and its parsed events. */
function write(events: TraceEvent[], opts: Partial<PerfettoOptions> = {}) {
  let text = '';
  let closed = 0;
  const w = new PerfettoWriter({ write: (s) => (text += s), close: () => closed++, ...opts });
  w.events(events);
  w.finish();
  w.finish();
  const { problems, events: parsed } = checkTraceEvents(text);
  const other = JSON.parse(text).otherData;
  return { text, closed, problems, parsed, other };
}

/** "ph name ns" of the events of one tid, in file order (ns back from µs). */
function lines(parsed: ParsedTraceEvent[], tid: number): string[] {
  return parsed
    .filter((e) => e.tid === tid && e.ph !== 'M')
    .map(
      (e) =>
        `${e.ph} ${e.name} ${Math.round((e.ts as number) * 1000)}${e.dur === undefined ? '' : `+${Math.round(e.dur * 1000)}`}`,
    );
}

const fault = [
  ev(0, 'main', 'phase_start', { name: 'Populating memory' }),
  ev(100, 'vcpu0', 'ept_violation_begin', { gfn: 7, write: true }),
  ev(200, 'vcpu0', 'lock_wait', { lock: 'mmap_lock', side: 'read', ns: 30 }),
  ev(250, 'vcpu0', 'handle_mm_fault', { hva: 0x7000, write: true, ret: 0, ns: 100 }),
  ev(300, 'vcpu0', 'ept_violation_end', { gfn: 7 }),
  ev(1000, 'main', 'phase_end', { name: 'Populating memory', ns: 1000 }),
];

describe('PerfettoWriter', () => {
  it('formats simulated ns as exact microseconds', () => {
    expect([0, 7, 1000, 1234567, 1_000_000_001, -5].map(fmtUs)).toEqual([
      '0',
      '0.007',
      '1',
      '1234.567',
      '1000000.001',
      '-0.005',
    ]);
  });

  it('nests a fault, its host fault and a lock wait on the vCPU track, with the phase as an async slice', () => {
    const r = write(fault);
    expect(r.problems).toEqual([]);
    expect(r.closed).toBe(1);
    expect(lines(r.parsed, 2)).toEqual([
      'B EPT violation 100',
      'B handle_mm_fault 150',
      'X mmap_lock 170+30',
      'E handle_mm_fault 250',
      'E EPT violation 300',
    ]);
    expect(r.parsed.filter((e) => e.cat === 'phase').map((e) => `${e.ph} ${e.ts}`)).toEqual(['b 0', 'e 1']);
    expect(
      r.parsed.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args?.name]),
    ).toEqual([
      [1, 'main'],
      [2, 'vcpu0'],
    ]);
  });

  it('keeps only the window, clipping slices to it; counters per bucket from its start', () => {
    const r = write(fault, { window: { start: 180, end: 280 }, bucketNs: 50 });
    expect(r.problems).toEqual([]);
    expect(lines(r.parsed, 2)).toEqual([
      'B EPT violation 180',
      'B handle_mm_fault 180',
      'X mmap_lock 180+20',
      'E handle_mm_fault 250',
      'E EPT violation 280',
    ]);
    const counters = r.parsed
      .filter((e) => e.ph === 'C')
      .map((e) => `${e.name} ${Math.round((e.ts as number) * 1000)} ${e.args?.value}`);
    // One host fault at 250 (bucket [230, 280): 1 per 50 ns = 2e7/s); 20 ns of mmap_lock waiting in [180, 230).
    expect(counters).toEqual([
      'waiters mmap_lock 180 0.4',
      'waiters mmap_lock 230 0',
      'handle_mm_fault/s 180 0',
      'handle_mm_fault/s 230 20000000',
      'handle_mm_fault/s 280 0',
    ]);
    expect(r.parsed.filter((e) => e.cat === 'phase').map((e) => `${e.ph} ${e.ts}`)).toEqual([
      'b 0.18',
      'e 0.28',
    ]);
    expect(r.other.window).toEqual([180, 280]);
  });

  it('past its cap, ends at the next event, closes what is open there and leaves a marker', () => {
    const pairs = [10, 30, 50].flatMap((t) => [
      ev(t, 'vcpu0', 'ept_violation_begin', { gfn: t, write: false }),
      ev(t + 10, 'vcpu0', 'ept_violation_end', { gfn: t }),
    ]);
    const r = write(pairs, { cap: 3 });
    expect(r.problems).toEqual([]);
    expect(lines(r.parsed, 2)).toEqual([
      'B EPT violation 10',
      'E EPT violation 20',
      'B EPT violation 30',
      'E EPT violation 40',
    ]);
    const mark = r.parsed.find((e) => e.name === 'perfetto_truncated');
    expect(mark).toMatchObject({ ph: 'i', s: 'g', ts: 0.04, args: { cap: 3, dropped: 3 } });
    expect(r.other).toMatchObject({ truncatedAt: 40, dropped: 3, converted: 4 });
  });

  it('draws a flow from an aging walk to its KVM clear_young slice, and a span that cannot nest as async', () => {
    const r = write([
      ev(0, 'main', 'try_to_inc_max_seq_begin', { memcg: '/t', nid: 0, seq: 3 }),
      ev(10, 'main', 'walk_mm_begin', { memcg: '/t', nid: 0, seq: 3 }),
      ev(30, 'main', 'lock_wait', { lock: 'ptl', side: 'write', ns: 10 }),
      ev(50, 'main', 'walk_mm_end', {
        memcg: '/t',
        nid: 0,
        seq: 3,
        walked: true,
        ptes: 9,
        young: 4,
        clearYoung: 5,
      }),
      ev(60, 'main', 'try_to_inc_max_seq_end', { memcg: '/t', nid: 0, seq: 3, incremented: true }),
      ev(200, 'vcpu0', 'lock_wait', { lock: 'mmu_lock', side: 'read', ns: 100 }),
      ev(250, 'vcpu0', 'handle_mm_fault', { hva: 0, write: false, ret: 0, ns: 100 }),
    ]);
    expect(r.problems).toEqual([]);
    expect(lines(r.parsed, 1)).toEqual([
      'B try_to_inc_max_seq 0',
      'B walk_mm 10',
      's clear_young 10',
      'X ptl 20+10',
      'E walk_mm 50',
      'E try_to_inc_max_seq 60',
    ]);
    expect(lines(r.parsed, 300_001)).toEqual([
      'B kvm clear_young 10',
      'f clear_young 10',
      'E kvm clear_young 50',
    ]);
    const f = r.parsed.find((e) => e.ph === 'f');
    expect(f).toMatchObject({ bp: 'e', id: r.parsed.find((e) => e.ph === 's')?.id });
    expect(r.parsed.find((e) => e.name === 'kvm clear_young')?.args).toEqual({
      calls: 5,
      young: 4,
      ptes: 9,
      seq: 3,
    });
    expect(r.parsed.find((e) => e.name.startsWith('max_seq'))).toMatchObject({ ph: 'C', args: { value: 4 } });
    // handle_mm_fault [150, 250] overlaps the wait [100, 200] partially: an async slice instead.
    // (The async lines go out at once; the thread's lines wait in its buffer until the end.)
    expect(lines(r.parsed, 2)).toEqual([
      'b handle_mm_fault 150',
      'e handle_mm_fault 250',
      'X mmu_lock 100+100',
    ]);
    expect(r.other.asyncFallbacks).toBe(1);
  });
});
