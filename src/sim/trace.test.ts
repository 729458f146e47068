import { describe, expect, it } from 'vitest';
import type { SimThread } from './thread.ts';
import { Tracer } from './trace.ts';

/** A thread as the tracer sees it: a name, its time, and the time of the engine's current step. */
function thread(name: string, now: number, engineNow: number): SimThread {
  return { name, now, engine: { now: engineNow } } as unknown as SimThread;
}

const phase = (name: string) => ({ name });

describe('Tracer', () => {
  it('writes events sorted by time, equal times in emission order, only once no thread can emit earlier', () => {
    const chunks: string[] = [];
    const tr = new Tracer({ batch: 3, write: (s) => chunks.push(s) });
    // vcpu0 ran ahead to 500 while the engine's step is at 100; main then emits at 100 and 300.
    tr.emit(thread('vcpu0', 500, 100), 'phase_start', phase('a'));
    tr.emit(thread('main', 100, 100), 'phase_start', phase('b'));
    expect(chunks).toEqual([]);
    // The third event fills the batch: everything at or before the engine's time (300) goes out.
    tr.emit(thread('main', 300, 300), 'phase_start', phase('c'));
    expect(chunks).toEqual([
      '{"time":100,"thread":"main","event":"phase_start","args":{"name":"b"}}\n' +
        '{"time":300,"thread":"main","event":"phase_start","args":{"name":"c"}}\n',
    ]);
    tr.emit(thread('vcpu1', 500, 400), 'phase_start', phase('d'));
    tr.emit(thread('main', 400, 400), 'phase_start', phase('e'));
    tr.finish();
    const lines = chunks.join('').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).args.name)).toEqual(['b', 'c', 'e', 'a', 'd']);
  });

  it('keeps the events in memory without a writer, and finishes once', () => {
    let closed = 0;
    const tr = new Tracer({ close: () => closed++ });
    tr.emit(thread('main', 7, 0), 'lock_wait', { lock: 'kvm.mmu_lock', side: 'write', ns: 5 });
    tr.emit(thread('main', 2, 0), 'kvm_flush_remote_tlbs', { ipis: 1 });
    expect(tr.events).toEqual([]);
    tr.finish();
    tr.finish();
    expect(closed).toBe(1);
    expect(tr.events.map((e) => e.time)).toEqual([2, 7]);
    expect(tr.toJsonLines()).toBe(
      '{"time":2,"thread":"main","event":"kvm_flush_remote_tlbs","args":{"ipis":1}}\n' +
        '{"time":7,"thread":"main","event":"lock_wait","args":{"lock":"kvm.mmu_lock","side":"write","ns":5}}',
    );
  });

  it('past its limit, cuts the trace at the time the limit was hit and says so', () => {
    const tr = new Tracer({ limit: 3 });
    tr.emit(thread('main', 10, 10), 'phase_start', phase('a'));
    tr.emit(thread('vcpu0', 40, 10), 'phase_start', phase('ahead'));
    tr.emit(thread('main', 20, 20), 'phase_start', phase('b'));
    // The limit is hit while the engine is at 30: 'ahead' (40) and these two are left out.
    tr.emit(thread('main', 30, 30), 'phase_start', phase('c'));
    tr.emit(thread('main', 50, 50), 'phase_start', phase('d'));
    tr.finish();
    expect(tr.events.map((e) => [e.time, e.event])).toEqual([
      [10, 'phase_start'],
      [20, 'phase_start'],
      [30, 'trace_truncated'],
    ]);
    expect(tr.events[2]).toEqual({
      time: 30,
      thread: 'tracer',
      event: 'trace_truncated',
      args: { limit: 3, dropped: 3 },
    });
  });

  it('gives a sink every event in the same order, while the JSON lines keep their limit', () => {
    const emitAll = (tr: Tracer) => {
      tr.emit(thread('main', 10, 10), 'phase_start', phase('a'));
      tr.emit(thread('vcpu0', 40, 10), 'phase_start', phase('ahead'));
      tr.emit(thread('main', 20, 20), 'phase_start', phase('b'));
      tr.emit(thread('main', 30, 30), 'phase_start', phase('c'));
      tr.emit(thread('main', 50, 50), 'phase_start', phase('d'));
      tr.finish();
    };
    const alone = new Tracer({ limit: 3 });
    emitAll(alone);
    const seen: string[] = [];
    let finished = 0;
    const lines: string[] = [];
    const both = new Tracer({
      limit: 3,
      batch: 2,
      write: (s) => lines.push(s),
      sink: {
        events: (b) => seen.push(...b.map((e) => `${e.time} ${(e.args as { name: string }).name}`)),
        finish: () => finished++,
      },
    });
    emitAll(both);
    expect(seen).toEqual(['10 a', '20 b', '30 c', '40 ahead', '50 d']);
    expect(finished).toBe(1);
    expect(lines.join('')).toBe(`${alone.toJsonLines()}\n`);
    expect(new Tracer({ sink: { events: () => {}, finish: () => {} } }).events).toEqual([]);
  });
});
