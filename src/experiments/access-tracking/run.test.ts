import { describe, expect, it } from 'vitest';
import { PAGEVEC_SIZE } from '../../host/lru-add.ts';
import { Tracer } from '../../sim/trace.ts';
import { formatAccessTracking } from './format.ts';
import { runAccessTracking } from './run.ts';
import { formatSeconds } from './selftest-output.ts';
import { formatTestAssertion } from './test-assert.ts';

const small = { vcpus: 2, vcpuBytes: 2 << 20 };

describe('runAccessTracking (page_idle mode)', () => {
  it('runs the selftest phases and counts the work exactly', () => {
    const r = runAccessTracking(small);
    expect(r.failure).toBeNull();
    expect(r.phases.map((p) => p.name)).toEqual([
      'Populating memory',
      'Writing to populated memory',
      'Reading from populated memory',
      'Mark memory idle (page_idle)',
      'Writing to idle memory',
      'Mark memory idle (page_idle)',
      'Reading from idle memory',
    ]);
    const c = r.counters;
    // The library wrote 271 pages of memslot 0 from the host (binary, guest page tables, stacks);
    // the guest faults the 1024 test pages and the memstress_args page (both vCPUs read it).
    expect(c.memory.slot0Written).toBe(256 + 5 + 2 * 5);
    expect(c.hostFaults).toMatchObject({ anon: 1024 + 271, zeroPage: 0 });
    expect(c.kvm).toMatchObject({
      eptViolations: 1026,
      faultsFixed: 1025,
      faultsSpurious: 1,
      faultRetries: 0,
    });
    expect(c.guest).toEqual({ writes: 3 * 1024, reads: 2 * 1024 });
    // Each vCPU faulted its 512 pages on its own CPU: 512 % PAGEVEC_SIZE = 16 of them still wait in
    // that CPU's LRU batch, invisible to page_idle. Each marking pass marks (and, after the guest
    // touched them, finds young) the 2 * 496 = 992 test pages that reached the LRU; reading a bitmap
    // word re-checks every idle page in it: 64694 rmap walks, each one kvm_age_gfn call (how many
    // depends on how the two CPUs' pcp refills, 63 then 126, 252... pages, interleave the pfns).
    const onLru = 2 * (512 - (512 % PAGEVEC_SIZE));
    expect(c.pageIdle).toEqual({ clearRefs: 64694, foundYoung: 2 * onLru, marked: 2 * onLru });
    expect(c.kvm).toMatchObject({ ageGfnCalls: 64694, sptesAged: 2 * onLru, tlbFlushes: 0 });
    expect(c.memory.lruPages + c.memory.lruBatched).toBe(1024 + 271);
    expect(r.markIdle.map((m) => m.map((v) => v.stillIdle))).toEqual([
      [0, 0],
      [0, 0],
    ]);
    // Lockless aging never takes mmu_lock for write; faults take it for read.
    expect(c.mmuLock).toMatchObject({ writeAcquired: 0, readAcquired: 1026 });
  });

  it('prints the selftest lines after a header naming profile and seed', () => {
    const out = formatAccessTracking(runAccessTracking({ vcpus: 1, vcpuBytes: 1 << 20, seed: 5 })).split(
      '\n',
    );
    expect(out[0]).toMatch(/^# mmulab access-tracking/);
    expect(out[1]).toContain('profile x86-tdp, seed 5');
    expect(out[2]).toBe('# all times are simulated seconds');
    // kvm_selftest_init's seed first; then main(): lru_gen_usable() finds no MGLRU on this host.
    expect(out.slice(3, 9)).toEqual([
      'Random seed: 0x5335e5f6',
      'lru_gen: Could not open /sys/kernel/mm/lru_gen/enabled',
      'Using page_idle for aging',
      'Testing guest mode: PA-bits:ANY, VA-bits:48,  4K pages',
      'guest physical test memory: [0x3fffffeff000, 0x3ffffffff000)',
      '',
    ]);
    expect(out[9]).toMatch(/^Populating memory {13}: 0\.\d{9}s$/);
    expect(out[12]).toMatch(/^Mark memory idle \(page_idle\) {2}: 0\.\d{9}s$/);
  });

  it('is deterministic: same options and seed give byte-identical results; the seed matters', () => {
    const a = JSON.stringify(runAccessTracking({ ...small, seed: 3 }));
    const b = JSON.stringify(runAccessTracking({ ...small, seed: 3 }));
    const c = JSON.stringify(runAccessTracking({ ...small, seed: 4 }));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('write-locked aging makes marking slower and shows why: mmu_lock waits', () => {
    const opts = { vcpus: 4, vcpuBytes: 2 << 20 };
    const lockless = runAccessTracking({ ...opts, aging: 'lockless' });
    const locked = runAccessTracking({ ...opts, aging: 'write-lock' });
    const mark = (r: typeof locked) => r.phases.filter((p) => p.name.startsWith('Mark')).map((p) => p.ns);
    for (let i = 0; i < 2; i++) expect(mark(locked)[i]).toBeGreaterThan(mark(lockless)[i]);
    expect(lockless.counters.mmuLock.writeAcquired).toBe(0);
    expect(locked.counters.mmuLock.writeAcquired).toBe(locked.counters.kvm.ageGfnCalls);
    expect(locked.counters.mmuLock.writeContended).toBeGreaterThan(0);
    expect(locked.counters.mmuLock.writeWaitNs).toBeGreaterThan(0);
    // The vCPU threads do the marking: each of them spent longer waiting on locks.
    for (let v = 0; v < 4; v++) {
      const key = `vcpu${v}` as const;
      expect(locked.counters.vcpuLockWaitNs[key]).toBeGreaterThan(lockless.counters.vcpuLockWaitNs[key]);
    }
    // The same pages were marked either way (how many re-checks a bitmap read makes depends on how
    // the vCPU threads interleave, so that count differs).
    expect(locked.counters.pageIdle.marked).toBe(lockless.counters.pageIdle.marked);
  });

  it('without EPT A/D bits, touching idle memory takes fast page faults', () => {
    const r = runAccessTracking({ vcpus: 1, vcpuBytes: 2 << 20, eptAd: false });
    // Both passes over idle memory fault once on each page the markings aged: the 512 - 512 %
    // PAGEVEC_SIZE = 496 that reached the LRU (16 still wait in the vCPU's CPU's batch).
    expect(r.counters.kvm.fastPageFaults).toBe(2 * (512 - (512 % PAGEVEC_SIZE)));
    const ad = runAccessTracking({ vcpus: 1, vcpuBytes: 2 << 20 });
    const idx = r.phases.findIndex((p) => p.name === 'Writing to idle memory');
    expect(r.phases[idx].ns).toBeGreaterThan(5 * ad.phases[idx].ns);
  });

  it('maps THP and hugetlb backing with 2 MiB SPTEs; page_idle tracks THP heads only, hugetlb not at all', () => {
    const thp = runAccessTracking({ vcpus: 1, vcpuBytes: 4 << 20, backing: 'anonymous_thp' });
    expect(thp.counters.kvm.eptViolations).toBe(3);
    expect(thp.counters.pageIdle.marked).toBe(4);
    const huge = runAccessTracking({ vcpus: 1, vcpuBytes: 4 << 20, backing: 'anonymous_hugetlb' });
    expect(huge.counters.kvm.eptViolations).toBe(3);
    expect(huge.counters.pageIdle).toEqual({ clearRefs: 0, foundYoung: 0, marked: 0 });
    expect(huge.failure).toBeNull();
  });

  it('with overlap, vCPUs share the region and only vCPU 0 marks it', () => {
    const r = runAccessTracking({ vcpus: 2, vcpuBytes: 2 << 20, overlap: true });
    expect(r.markIdle[0].map((m) => m.vcpu)).toEqual([0]);
    expect(r.markIdle[0][0].pages).toBe(1024);
    expect(r.counters.hostFaults.anon - r.counters.memory.slot0Written).toBe(1024);
  });

  it('records an event trace when asked, without changing the results', () => {
    const tr = new Tracer();
    const traced = runAccessTracking({ vcpus: 2, vcpuBytes: 1 << 20, aging: 'write-lock' }, 'x86-tdp', tr);
    const plain = runAccessTracking({ vcpus: 2, vcpuBytes: 1 << 20, aging: 'write-lock' });
    expect(traced.phases).toEqual(plain.phases);
    const kinds = new Map<string, number>();
    for (const e of tr.events) kinds.set(e.event, (kinds.get(e.event) ?? 0) + 1);
    expect(kinds.get('phase_start')).toBe(7);
    expect(kinds.get('ept_violation_begin')).toBe(traced.counters.kvm.eptViolations);
    expect(kinds.get('memslots_swap')).toBe(2);
    expect(kinds.get('lock_wait')).toBeGreaterThan(0);
    expect(tr.events[0]).toMatchObject({ event: 'memslots_swap', thread: 'main' });
  });

  it('with random access some pages are never populated, and the no-pfn check fails as in the selftest', () => {
    const r = runAccessTracking({ vcpus: 1, vcpuBytes: 1 << 20, randomAccess: true, warnOnly: true });
    const touched = r.counters.hostFaults.anon - r.counters.memory.slot0Written;
    expect(touched).toBeLessThan(256);
    expect(touched).toBeGreaterThan(100);
    // Three passes ran (populate, write, read), then marking found pages without a pfn.
    expect(r.counters.guest.writes + r.counters.guest.reads).toBe(3 * 256);
    expect(r.failure).toMatch(/^vCPU 0: No PFN for \d+ out of 256 pages\.$/);
    // The vCPU thread's TEST_ASSERT ends the test before the main thread prints the phase.
    expect(r.stdout.at(-1)).toMatch(/^Reading from populated memory : /);
    expect(formatTestAssertion(r.assertion!)).toBe(
      [
        '==== Test Assertion Failure ====',
        '  access_tracking_perf_test.c:216: no_pfn < pages / 100',
        '  pid=1000 tid=1001 errno=0 - Success',
        `  ${r.failure}`,
        '',
      ].join('\n'),
    );
  });

  it('in lru_gen mode ages through debugfs, and each marking moves the pages to a newer generation', () => {
    const r = runAccessTracking({ vcpus: 2, vcpuBytes: 4 << 20, lruGen: true });
    expect(r.failure).toBeNull();
    expect(r.mode).toBe('lru_gen');
    expect(r.stdout.slice(0, 3)).toEqual([
      'Random seed: 0x36700886',
      'Using lru_gen for aging',
      'Creating cgroup: /sys/fs/cgroup/access_tracking_perf_test',
    ]);
    expect(r.stdout).toContain('Initial aging pass (lru_gen)');
    // destroy_cgroup() is never called: the last line is the last phase.
    expect(r.stdout.at(-1)).toMatch(/^Reading from idle memory {6}: /);
    expect(r.phases.map((p) => p.name)).toEqual([
      'Populating memory',
      'Re-populating memory',
      'Writing to populated memory',
      'Reading from populated memory',
      'Mark memory idle (lru_gen)',
      'Writing to idle memory',
      'Mark memory idle (lru_gen)',
      'Reading from idle memory',
    ]);
    // After re-populating the pages sit in generation 3, then 4, then 5.
    expect(r.lruGenGenerations).toEqual([3, 4, 5]);
    expect(r.counters.lruGen.agingPasses).toBe(3);
    // Each of the three aging walks found the test pages young through KVM, except the last
    // 1024 % PAGEVEC_SIZE = 1 of each vCPU, still in its CPU's LRU batch (not on a generation list,
    // so get_pfn_folio skips it), plus the memstress_args page (gfn 0x80) the vCPUs read.
    expect(r.counters.kvm.sptesAged).toBe(3 * (2048 - 2 * (1024 % PAGEVEC_SIZE) + 1));
    expect(r.counters.mmuLock.writeAcquired).toBe(0);
    const locked = runAccessTracking({ vcpus: 2, vcpuBytes: 4 << 20, lruGen: true, aging: 'write-lock' });
    expect(locked.counters.mmuLock.writeAcquired).toBe(locked.counters.kvm.ageGfnCalls);
    const mark = (x: typeof r) => x.phases.filter((p) => p.name.startsWith('Mark')).map((p) => p.ns);
    for (let i = 0; i < 2; i++) expect(mark(locked)[i]).toBeGreaterThan(mark(r)[i]);
  });

  it('-p runs aging passes back to back while the vCPUs fault memory in', () => {
    const r = runAccessTracking({ vcpus: 2, vcpuBytes: 8 << 20, benchmark: true });
    expect(r.failure).toBeNull();
    const b = r.benchmark!;
    expect(b.passes).toBeGreaterThan(5);
    expect(b.avgPassNs).toBe(Math.floor(b.agingTotalNs / b.passes));
    // The last pass starts before the slowest vCPU is done and ends after it.
    expect(b.agingTotalNs).toBeGreaterThanOrEqual(b.vcpuWallNs);
    expect(b.agingTotalNs).toBeLessThan(2 * b.vcpuWallNs);
    expect(r.stdout.slice(-2)).toEqual([
      `vcpu wall time                : ${formatSeconds(b.vcpuWallNs)}`,
      `lru_gen avg pass duration     : ${formatSeconds(b.avgPassNs)}, (passes:${b.passes}, total:${formatSeconds(b.agingTotalNs)})`,
    ]);
    expect(r.phases).toEqual([]);
  });

  it('on a pre-6.12 kernel the lru_gen checks fail: aging never sees pages used only by the guest', () => {
    const r = runAccessTracking({ vcpus: 1, vcpuBytes: 4 << 20, lruGen: true, kernel: 'pre-6.12' });
    expect(r.options.aging).toBe('write-lock');
    expect(r.failure).toMatch(/^Too many pages still idle \(\d+ out of 1024\)$/);
    expect(r.counters.kvm.ageGfnCalls).toBe(0);
    const warn = runAccessTracking({
      vcpus: 1,
      vcpuBytes: 4 << 20,
      lruGen: true,
      kernel: 'pre-6.12',
      warnOnly: true,
    });
    expect(warn.failure).toBeNull();
    expect(warn.stdout.filter((l) => l.startsWith('WARNING: Too many pages still idle'))).toHaveLength(2);
    for (const k of ['6.12', '6.15']) {
      expect(runAccessTracking({ vcpus: 1, vcpuBytes: 4 << 20, lruGen: true, kernel: k }).failure).toBeNull();
    }
  });

  it('refuses a run that would not fit, saying what would', () => {
    expect(() => runAccessTracking({ vcpus: 64, vcpuBytes: 2 ** 30, memoryLimitBytes: 2 ** 28 })).toThrow(
      /^64\.00 GiB of guest memory \(-v x -b\) needs 0\.\d\d GiB of simulator memory here, over the 0\.25 GiB limit; at most \d+\.\d\d GiB fits$/,
    );
  });
});
