// The event trace of whole runs: time order, every documented kind, and docs/trace.md in sync.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { PAGEVEC_SIZE } from '../../host/lru-add.ts';
import { isSwapPte } from '../../host/page-table.ts';
import { type TraceEvent, Tracer } from '../../sim/trace.ts';
import { TRACE_EVENTS, type TraceKind, traceSchemaMarkdown } from '../../sim/trace-events.ts';
import { runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import type { AccessTrackingInput } from './options.ts';
import { runAccessTracking } from './run.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const M = 1 << 20;

/** Traces one run with a small flush batch, so the in-run flushing (not only the final sort) is tested. */
function traced(input: AccessTrackingInput): {
  events: TraceEvent[];
  r: ReturnType<typeof runAccessTracking>;
} {
  const tr = new Tracer({ batch: 16 });
  const r = runAccessTracking(input, 'x86-tdp', tr);
  return { events: tr.events, r };
}

function count(events: TraceEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) m.set(e.event, (m.get(e.event) ?? 0) + 1);
  return m;
}

function outOfOrder(events: TraceEvent[]): number {
  let n = 0;
  for (let i = 1; i < events.length; i++) if (events[i].time < events[i - 1].time) n++;
  return n;
}

// page_idle with write-locked aging: faults, phases, marking, mmu_lock waits.
const pageIdle = traced({ vcpus: 2, vcpuBytes: 2 * M, aging: 'write-lock' });
// seed 003's -p under global memory pressure: aging, reclaim, kswapd, direct reclaim, swap-out.
const pressure = traced({
  vcpus: 2,
  vcpuBytes: 4 * M,
  benchmark: true,
  hostMemoryBytes: 6 * M,
  swapBytes: 16 * M,
});

/** memory.reclaim on a populated guest, then every page touched again: memcg reclaim and swap-in. */
function reclaimAndRefault(): { events: TraceEvent[]; swapIns: number; swapOuts: number } {
  const tr = new Tracer({ batch: 16 });
  const pages = 256;
  const { vm } = runOnVm(
    { lruGen: true, vcpuBytes: pages * 4096, swapPages: 4096, trace: tr },
    function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      for (let i = 0; i < pages; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      yield* vm.vfs.pwrite(
        t,
        '/sys/fs/cgroup/access_tracking_perf_test/memory.reclaim',
        0,
        Buffer.from('4M'),
      );
      for (let i = 0; i < pages; i++) {
        const hva = vm.testVma.start + i * 4096;
        if (isSwapPte(vm.mm.pt.entries[vm.mm.pt.walk(vm.mm.pgd, hva / 4096, 1, false)]))
          yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      }
    },
  );
  tr.finish();
  return { events: tr.events, swapIns: vm.host.swap!.swapIns, swapOuts: vm.host.swap!.swapOuts };
}

describe('the event trace', () => {
  it('is in time order, with the in-run flushes too', () => {
    expect(pageIdle.events.length).toBeGreaterThan(1000);
    expect(pressure.events.length).toBeGreaterThan(1000);
    expect(outOfOrder(pageIdle.events)).toBe(0);
    expect(outOfOrder(pressure.events)).toBe(0);
  });

  it("has no vCPU fault before the first phase starts (spawned threads start at their parent's time)", () => {
    const first = pageIdle.events.findIndex((e) => e.event === 'phase_start');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(pageIdle.events.slice(0, first).filter((e) => e.event === 'ept_violation_begin')).toEqual([]);
  });

  it('counts what the counters count', () => {
    const k = count(pageIdle.events);
    const c = pageIdle.r.counters;
    expect(k.get('ept_violation_begin')).toBe(c.kvm.eptViolations);
    expect(k.get('ept_violation_end')).toBe(c.kvm.eptViolations);
    const f = c.hostFaults;
    expect(k.get('handle_mm_fault')).toBe(
      f.anon + f.zeroPage + f.cow + f.wpReuse + f.spurious + f.shmem + f.file + f.huge,
    );
    expect(k.get('phase_start')).toBe(7);
    expect(k.get('page_idle_mark_begin')).toBe(4);
    const waits = pageIdle.events.filter(
      (e) => e.event === 'lock_wait' && (e.args as { lock: string }).lock === 'kvm.mmu_lock',
    );
    expect(waits.reduce((s, e) => s + (e.args as { ns: number }).ns, 0)).toBe(
      c.mmuLock.readWaitNs + c.mmuLock.writeWaitNs,
    );
    const p = count(pressure.events);
    const lg = pressure.r.counters.lruGen;
    expect(p.get('swap_out')).toBe(lg.evicted);
    expect(p.get('mm_vmscan_direct_reclaim_begin')).toBe(lg.directReclaims);
    expect(p.get('mm_vmscan_kswapd_wake')).toBe(lg.kswapdWakeups);
    const walks = pressure.events.filter((e) => e.event === 'walk_mm_end');
    expect(walks.length).toBe(pressure.r.benchmark!.passes);
    const sum = (k: 'ptes' | 'young') => walks.reduce((s, w) => s + (w.args as Record<string, number>)[k], 0);
    expect(sum('ptes')).toBe(lg.mmLeafTotal);
    expect(sum('young')).toBe(lg.mmLeafYoung);
  });

  it("counts each walk's clear-young calls", () => {
    // Without reclaim, the walks are the only callers of mmu_notifier_clear_young.
    const { events, r } = traced({ vcpus: 2, vcpuBytes: 2 * M, lruGen: true });
    const walks = events
      .filter((e) => e.event === 'walk_mm_end')
      .map((e) => e.args as Record<string, number>);
    expect(walks.length).toBe(3);
    expect(walks.reduce((s, a) => s + a.clearYoung, 0)).toBe(r.counters.mmuNotifier.clearYoung);
    // Each walk calls clear_young on every mapped folio on the LRU: the 2 x 512 test pages and the
    // 271 memslot-0 pages the library wrote, less those still in per-CPU LRU batches (512 %
    // PAGEVEC_SIZE = 16 on each vCPU's CPU, 271 % PAGEVEC_SIZE = 23 on the main thread's): 3 x 1240.
    const onLru = 2 * (512 - (512 % PAGEVEC_SIZE)) + 271 - (271 % PAGEVEC_SIZE);
    expect(walks.reduce((s, a) => s + a.clearYoung, 0)).toBe(3 * onLru);
  });

  it('has every documented kind in a run that exercises it, with exactly the documented arguments', () => {
    const refault = reclaimAndRefault();
    expect(refault.swapOuts).toBeGreaterThan(0);
    expect(count(refault.events).get('swap_in')).toBe(refault.swapIns);
    const limited = new Tracer({ limit: 10 });
    runAccessTracking({ vcpus: 1, vcpuBytes: M }, 'x86-tdp', limited);
    const all = [...pageIdle.events, ...pressure.events, ...refault.events, ...limited.events];
    const seen = new Set(all.map((e) => e.event));
    expect([...seen].sort()).toEqual(Object.keys(TRACE_EVENTS).sort());
    for (const e of all)
      expect(Object.keys(e.args).sort(), e.event).toEqual(
        Object.keys(TRACE_EVENTS[e.event as TraceKind].args).sort(),
      );
    expect(outOfOrder(refault.events)).toBe(0);
    expect(limited.events.at(-1)!.event).toBe('trace_truncated');
  });

  it('is documented in docs/trace.md exactly as the schema says', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'trace.md'), 'utf8');
    const start = doc.indexOf('-->\n', doc.indexOf('<!-- trace-schema:')) + 4;
    const end = doc.indexOf('\n<!-- /trace-schema -->');
    expect(doc.slice(start, end)).toBe(traceSchemaMarkdown());
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('docs/trace.md');
  });

  it('--trace writes the file in time order; an unwritable path is one line and exit 2, before the run', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mmulab-trace-')), 't.jsonl');
    let err = '';
    expect(
      main(['access-tracking', '-b', '1M', '--trace', file], { out: () => {}, err: (s) => (err += s) }),
    ).toBe(0);
    const events = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as TraceEvent);
    expect(outOfOrder(events)).toBe(0);
    expect(
      events.filter((e) => e.event === 'phase_end').map((e) => (e.args as { name: string }).name),
    ).toEqual([
      'Populating memory',
      'Writing to populated memory',
      'Reading from populated memory',
      'Mark memory idle (page_idle)',
      'Writing to idle memory',
      'Mark memory idle (page_idle)',
      'Reading from idle memory',
    ]);
    let out = '';
    const code = main(['access-tracking', '-b', '1M', '--trace', '/nonexistent/dir/t.jsonl'], {
      out: (s) => (out += s),
      err: (s) => (err = s),
    });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe("mmulab: --trace: cannot write '/nonexistent/dir/t.jsonl' (ENOENT)\n");
  });
});
