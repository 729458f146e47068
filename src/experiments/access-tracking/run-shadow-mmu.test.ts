import { describe, expect, it } from 'vitest';
import { KERNEL_VARIANTS } from '../../variants/kernel-variant.ts';
import { runTable } from '../table.ts';
import { OptionsError } from './options.ts';
import { runAccessTracking } from './run.ts';

// Every mode of the selftest on the shadow MMU (kvm.tdp_mmu=0): faults and aging take mmu_lock for
// write, aging walks rmaps, and the counters say so exactly.
const small = { vcpus: 2, vcpuBytes: 2 << 20, kernel: '6.12', mmu: 'shadow' } as const;

/**
 * The shadow MMU's work in every run below: 9 shadow pages (as many as the TDP MMU's page-table
 * pages) and 7 SPTEs prefetched once, around the memstress_args page of memslot 0, whose
 * neighbours the library wrote from the host. Guest test pages are faulted in before the host has
 * them, so none is prefetched.
 */
const SHADOW_PAGES = {
  pagesAllocated: 9,
  nUsedMmuPages: 9,
  mmuCacheMiss: 9,
  pagesFreed: 0,
  mmuShadowZapped: 0,
  sptesPrefetched: 7,
  maxMmuRmapSize: 0,
};

describe('access-tracking on the shadow MMU', () => {
  it('page_idle: the same faults, marks and aged SPTEs as the TDP MMU, all under the write lock', () => {
    const r = runAccessTracking(small);
    const tdp = runAccessTracking({ ...small, mmu: 'tdp' });
    expect(r.failure).toBeNull();
    expect(r.phases.map((p) => p.name)).toEqual(tdp.phases.map((p) => p.name));
    const c = r.counters;
    expect(c.kvm).toMatchObject({
      eptViolations: 1026,
      faultsFixed: 1025,
      faultsSpurious: 1,
      ageGfnCalls: 66250,
      sptesAged: 2040,
      tlbFlushes: 0,
    });
    expect(c.pageIdle).toEqual({ clearRefs: 66250, foundYoung: 2040, marked: 2040 });
    expect(r.markIdle.map((m) => m.map((v) => v.stillIdle))).toEqual([
      [0, 0],
      [0, 0],
    ]);
    // 1026 faults and 66250 kvm_age_gfn calls, each under mmu_lock for write; nothing reads it.
    expect(c.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 + 66250 });
    expect(c.shadowMmu).toMatchObject(SHADOW_PAGES);
    expect([c.memory.sptePages, tdp.counters.memory.sptePages]).toEqual([9, 9]);
    expect(Object.values(tdp.counters.shadowMmu).every((v) => v === 0)).toBe(true);
    expect(tdp.counters.mmuLock).toMatchObject({ readAcquired: 1026 });
  });

  it('lru_gen (-l): the checks pass; aging walks the rmaps under the write lock', () => {
    const r = runAccessTracking({ ...small, lruGen: true });
    expect(r.failure).toBeNull();
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
    const c = r.counters;
    expect(c.kvm).toMatchObject({ eptViolations: 1026, ageGfnCalls: 3870, sptesAged: 3063 });
    expect(c.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 + 3870 });
    expect(c.shadowMmu).toMatchObject(SHADOW_PAGES);
  });

  it('-p: aging passes while the vCPUs fault in, both on mmu_lock for write', () => {
    const r = runAccessTracking({ ...small, benchmark: true });
    expect(r.failure).toBeNull();
    expect(r.benchmark).toMatchObject({ passes: 20 });
    const c = r.counters;
    expect(c.kvm).toMatchObject({ eptViolations: 1026, ageGfnCalls: 13665, sptesAged: 977 });
    expect(c.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 + 13665 });
    expect(c.shadowMmu).toMatchObject(SHADOW_PAGES);
  });

  it('table: the no-aging row and each write-locked kernel', () => {
    const t = runTable({ vcpus: [1], vcpuBytes: 1 << 20, kernels: ['pre-6.12', '6.12'], mmu: 'shadow' });
    expect(t.rows.map((r) => [r.label, r.passes])).toEqual([
      ['no aging', 0],
      ['pre-6.12', 87],
      ['no opt', 20],
    ]);
  });

  it('runs -p on every kernel variant with write-locked aging; lockless aging is refused up front', () => {
    for (const v of KERNEL_VARIANTS) {
      const r = runAccessTracking({
        ...small,
        vcpuBytes: 1 << 20,
        kernel: v.name,
        aging: 'write-lock',
        benchmark: true,
      });
      expect([v.name, r.failure, r.counters.kvm.eptViolations, r.counters.mmuLock.readAcquired]).toEqual([
        v.name,
        null,
        514,
        0,
      ]);
      expect(r.counters.shadowMmu).toMatchObject({ sptesPrefetched: 7, nUsedMmuPages: 8 });
      if (v.kvmAging === 'lockless')
        expect(() => runAccessTracking({ ...small, kernel: v.name, benchmark: true })).toThrow(OptionsError);
    }
  });
});
