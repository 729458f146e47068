import { describe, expect, it } from 'vitest';
import { PAGEVEC_SIZE } from '../../host/lru-add.ts';
import { KERNEL_VARIANTS } from '../../variants/kernel-variant.ts';
import { runTable } from '../table.ts';
import { runAccessTracking } from './run.ts';

// Every mode of the selftest on the shadow MMU (kvm.tdp_mmu=0): faults take mmu_lock for write,
// aging walks rmaps, under mmu_lock for write (before 6.15) or under read-only rmap locks (6.15),
// and the counters say so exactly.
const small = { vcpus: 2, vcpuBytes: 2 << 20, mmu: 'shadow' } as const;

/**
 * The shadow MMU's pages in every 2 x 2 MiB run below: 9 shadow pages (as many as the TDP MMU's
 * page-table pages) and 7 SPTEs prefetched once, around the memstress_args page of memslot 0,
 * whose neighbours the library wrote from the host. Guest test pages are faulted in before the
 * host has them, so none of them is prefetched.
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

/**
 * Test pages on the LRU in every 2 x 2 MiB run below: each vCPU faulted its 512 pages on its own
 * CPU, and the last 512 % PAGEVEC_SIZE = 16 still wait in that CPU's LRU batch (992 in all).
 */
const TEST_ON_LRU = 2 * (512 - (512 % PAGEVEC_SIZE));
/** The 271 memslot-0 pages the library wrote from the main thread, less the 23 left in its CPU's batch. */
const SLOT0_ON_LRU = 271 - (271 % PAGEVEC_SIZE);

describe('access-tracking on the shadow MMU', () => {
  it('page_idle, 6.15: the TDP MMU’s faults, marks and aged SPTEs; aging under rmap locks only', () => {
    const r = runAccessTracking(small);
    const tdp = runAccessTracking({ ...small, mmu: 'tdp' });
    expect(r.failure).toBeNull();
    expect(r.phases.map((p) => p.name)).toEqual(tdp.phases.map((p) => p.name));
    const c = r.counters;
    expect(c.kvm).toMatchObject({
      eptViolations: 1026,
      faultsFixed: 1025,
      faultsSpurious: 1,
      ageGfnCalls: 64694,
      sptesAged: 2 * TEST_ON_LRU,
      tlbFlushes: 0,
    });
    // Each of the two markings marks, and finds young, the test pages on the LRU.
    expect(c.pageIdle).toEqual({ clearRefs: 64694, foundYoung: 2 * TEST_ON_LRU, marked: 2 * TEST_ON_LRU });
    // The same pages found young and marked as on the TDP MMU; how many rmap walks the marking
    // threads' re-checks of shared bitmap words take depends on their timing.
    expect(tdp.counters.pageIdle).toEqual({
      clearRefs: 64694,
      foundYoung: 2 * TEST_ON_LRU,
      marked: 2 * TEST_ON_LRU,
    });
    expect(r.markIdle.map((m) => m.map((v) => v.stillIdle))).toEqual([
      [0, 0],
      [0, 0],
    ]);
    // The 1026 faults take mmu_lock for write; each kvm_age_gfn takes one rmap head read-only.
    expect(c.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 });
    expect(c.shadowMmu).toMatchObject({ ...SHADOW_PAGES, rmapLocksReadonly: 64694, rmapHeadsWalked: 64694 });
    expect([c.memory.sptePages, tdp.counters.memory.sptePages]).toEqual([9, 9]);
    expect(Object.values(tdp.counters.shadowMmu).every((v) => v === 0)).toBe(true);
    expect(tdp.counters.mmuLock).toMatchObject({ readAcquired: 1026, writeAcquired: 0 });
  });

  it('page_idle, 6.12: every kvm_age_gfn takes mmu_lock for write instead, and no rmap lock', () => {
    const c = runAccessTracking({ ...small, kernel: '6.12' }).counters;
    expect(c.kvm).toMatchObject({ eptViolations: 1026, ageGfnCalls: 64694, sptesAged: 2 * TEST_ON_LRU });
    expect(c.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 + 64694 });
    expect(c.shadowMmu).toMatchObject({
      ...SHADOW_PAGES,
      rmapLocks: 0,
      rmapLocksReadonly: 0,
      rmapHeadsWalked: 64694,
    });
  });

  it('lru_gen (-l): the checks pass; aging walks the rmaps', () => {
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
    // Each of the three aging walks calls clear_young on every mapped folio on the LRU (3 x 1240):
    // the test pages and the library's memslot-0 pages not still in a per-CPU batch. KVM has rmap
    // heads for the test pages, the memstress_args page and the 7 SPTEs prefetched around it
    // (3 x 1000), and finds the test pages and the memstress_args page young (3 x 993).
    expect(c.kvm).toMatchObject({
      eptViolations: 1026,
      ageGfnCalls: 3 * (TEST_ON_LRU + SLOT0_ON_LRU),
      sptesAged: 3 * (TEST_ON_LRU + 1),
    });
    expect(c.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 });
    const heads = 3 * (TEST_ON_LRU + 1 + SHADOW_PAGES.sptesPrefetched);
    expect(c.shadowMmu).toMatchObject({ ...SHADOW_PAGES, rmapLocksReadonly: heads, rmapHeadsWalked: heads });
  });

  it('-p: aging passes while the vCPUs fault in; write-locked aging shares mmu_lock with the faults', () => {
    const opt = runAccessTracking({ ...small, benchmark: true });
    const noOpt = runAccessTracking({ ...small, benchmark: true, kernel: '6.12' });
    expect([opt.failure, noOpt.failure]).toEqual([null, null]);
    // The lockless (6.15) row's vCPUs no longer wait for inc_max_seq's lru_lock holds that the
    // walker took ahead of their time (it reschedules between walk_mm's rounds and inc_max_seq
    // now): they finish sooner, within fewer passes.
    expect([opt.benchmark?.passes, noOpt.benchmark?.passes]).toEqual([26, 22]);
    expect(opt.counters.kvm).toMatchObject({ eptViolations: 1026, ageGfnCalls: 16523, sptesAged: 994 });
    expect(noOpt.counters.kvm).toMatchObject({ eptViolations: 1026, ageGfnCalls: 14477, sptesAged: 993 });
    expect(opt.counters.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 });
    expect(noOpt.counters.mmuLock).toMatchObject({ readAcquired: 0, writeAcquired: 1026 + 14477 });
    expect(opt.counters.shadowMmu).toMatchObject(SHADOW_PAGES);
  });

  it('table: the no-aging row, no opt (6.12) and opt (6.15)', () => {
    const t = runTable({ vcpus: [1], vcpuBytes: 1 << 20, kernels: ['6.12', '6.15'], mmu: 'shadow' });
    expect(t.rows.map((r) => [r.label, r.passes])).toEqual([
      ['no aging', 0],
      ['no opt', 20],
      ['opt', 23],
    ]);
  });

  it('runs -p on every kernel variant; only write-locked aging takes mmu_lock', () => {
    for (const v of KERNEL_VARIANTS) {
      const r = runAccessTracking({ ...small, vcpuBytes: 1 << 20, kernel: v.name, benchmark: true });
      const c = r.counters;
      const agingWrites = v.kvmAging === 'write-lock' ? c.kvm.ageGfnCalls : 0;
      expect([
        v.name,
        r.failure,
        c.kvm.eptViolations,
        c.mmuLock.readAcquired,
        c.mmuLock.writeAcquired,
      ]).toEqual([v.name, null, 514, 0, 514 + agingWrites]);
      expect(c.shadowMmu).toMatchObject({ sptesPrefetched: 7, nUsedMmuPages: 8 });
    }
  });
});
