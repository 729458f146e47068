import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import { CAT, TimeCategories } from './accounting.ts';
import { Engine } from './engine.ts';
import { loadProfile } from './profile.ts';
import { formatTimeReport, threadClass, timeReport } from './time-report.ts';

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

describe('time accounting', () => {
  it('charges CPU work to the context, waits to their category, and sums to the elapsed time', () => {
    const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 0, cpus: 1 });
    const lock = engine.categories.lock('test_lock');
    engine.spawn('worker7', function* (t) {
      t.advance(100);
      const prev = t.enter(CAT.kvmFault);
      t.advance(40);
      t.until(lock, t.now + 25);
      t.leave(prev);
      t.advanceAs(CAT.guest, 10);
      yield;
    });
    // The second thread waits in the run queue for the only CPU, then pays a context switch.
    engine.spawn('worker8', function* (t) {
      t.advance(5);
      yield;
    });
    engine.run();
    const r = timeReport(engine);
    const p = engine.profile;
    expect(r.threads[0]).toEqual({
      thread: 'worker7',
      class: 'worker',
      elapsedNs: 175,
      categories: { other: 100, 'kvm fault': 40, 'lock test_lock': 25, guest: 10 },
    });
    expect(r.threads[1].elapsedNs).toBe(175 + p.contextSwitchNs + 5);
    expect(r.threads[1].categories).toEqual({
      'run queue': 175,
      'context switch': p.contextSwitchNs,
      other: 5,
    });
    expect(r.classes).toEqual([
      {
        class: 'worker',
        threads: 2,
        elapsedNs: 175 + 175 + p.contextSwitchNs + 5,
        categories: {
          'run queue': 175,
          other: 105,
          'kvm fault': 40,
          'lock test_lock': 25,
          ...(p.contextSwitchNs > 0 ? { 'context switch': p.contextSwitchNs } : {}),
          guest: 10,
        },
      },
    ]);
  });

  it('registers each category once per kind and name', () => {
    const c = new TimeCategories();
    const a = c.lock('mmu_lock');
    expect(c.lock('mmu_lock')).toBe(a);
    expect(c.line('mmu_lock')).not.toBe(a);
    expect(c.names[a]).toBe('lock mmu_lock');
    expect(c.kinds[a]).toBe('lock');
    expect(threadClass('vcpu12')).toBe('vcpu');
    expect(threadClass('main')).toBe('main');
  });

  it("every thread's categories sum exactly to its elapsed time (random small runs)", () => {
    fc.assert(
      fc.property(
        fc.record({
          vcpus: fc.integer({ min: 1, max: 3 }),
          mib: fc.integer({ min: 1, max: 3 }),
          mode: fc.constantFrom('page_idle', 'lru_gen', 'benchmark', 'pressure'),
          kernel: fc.constantFrom('6.12', '6.15', 'v2-bitmap', 'pre-6.12'),
          profile: fc.constantFrom('x86-tdp', 'seed003-x86'),
          seed: fc.integer({ min: 0, max: 5 }),
        }),
        (o) => {
          const lruGen = o.mode !== 'page_idle';
          const r = runAccessTracking(
            {
              vcpus: o.vcpus,
              vcpuBytes: o.mib << 20,
              lruGen,
              benchmark: o.mode === 'benchmark' || o.mode === 'pressure',
              kernel: lruGen && o.kernel === 'pre-6.12' ? '6.15' : o.kernel,
              seed: o.seed,
              ...(o.mode === 'pressure'
                ? { hostMemoryBytes: (o.vcpus * o.mib + 24) << 20, swapBytes: 64 << 20 }
                : {}),
            },
            o.profile,
          );
          expect(r.time.threads.length).toBeGreaterThan(o.vcpus);
          for (const t of r.time.threads) expect(sum(t.categories)).toBe(t.elapsedNs);
          for (const c of r.time.classes) expect(sum(c.categories)).toBe(c.elapsedNs);
        },
      ),
      { numRuns: 12, seed: 42 },
    );
  });

  it('names the locks and lines a run waited on, and formats them', () => {
    const r = runAccessTracking({ vcpus: 2, vcpuBytes: 2 << 20, lruGen: true, benchmark: true });
    expect(r.time.locks.map((k) => k.lock)).toContain('kvm.mmu_lock');
    expect(r.time.lines.map((l) => l.line)).toContain('kvm->stat.pages');
    const text = formatTimeReport(r.time);
    expect(text).toContain('# vcpu: 2 thread(s)');
    expect(text).toContain('kvm fault');
    expect(text).toContain('kvm->stat.pages');
  });
});
