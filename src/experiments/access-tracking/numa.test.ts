// access_tracking_perf_test with NUMA balancing simulated: the idle-page counts the selftest's
// checks see in page_idle and lru_gen modes, per accessed/dirty policy, and their causes.
import { describe, expect, it } from 'vitest';
import { AccessedZapTrail } from '../../host/accessed-zap-trail.ts';
import { PAGEVEC_SIZE } from '../../host/lru-add.ts';
import type { NumaBalancing } from '../../host/numa-balancing.ts';
import { classifyStillIdle, explainStillIdle, formatIdleChecks, noStillIdleCauses } from './numa-report.ts';
import { type AccessTrackingInput, OptionsError } from './options.ts';
import { runAccessTracking } from './run.ts';

const MIB = 1 << 20;
/** Accessed SPTEs the scans zap in the 16 MiB shadow-MMU run. */
const SHADOW_ACCESSED_ZAPS = 9102;
/** Accessed SPTEs the scans zap in the 16 MiB page_idle run on the TDP MMU. */
const PAGE_IDLE_ACCESSED_ZAPS = 10137;
/**
 * Test folios a NUMA migration can take in a 1-vCPU run of `pages` pages: the vCPU populated them on
 * a CPU of node 0 and then moved to node 1, so the last pages % PAGEVEC_SIZE wait in node 0's CPU's
 * LRU batch for good; without PG_lru they cannot be isolated (folio_isolate_lru fails).
 */
const migratable = (pages: number) => pages - (pages % PAGEVEC_SIZE);
/** Scans that come often enough for a short run: no delay, 16 MiB windows, 50 ms minimum period. */
const FAST_SCANS = { numaBalancing: true, numaScanDelayMs: 0, numaScanPeriodMinMs: 50, numaScanSizeMb: 16 };

function run(input: Omit<AccessTrackingInput, 'vcpus'>) {
  return runAccessTracking({ vcpus: 1, ...input }, 'seed003-x86');
}

describe('access-tracking with NUMA balancing', () => {
  it('lru_gen: folios migrated during re-population are re-added to the youngest generation, so the next aging cannot promote them', () => {
    const r = run({ vcpuBytes: 64 * MIB, lruGen: true, ...FAST_SCANS });
    expect(r.failure).toBeNull();
    expect(r.lruGenGenerations).toEqual([4, 4, 5]);
    // Re-population migrates the 16384 - 16384 % PAGEVEC_SIZE = 16368 test folios on the LRU (16
    // wait in node 0's batch): the 16368 folios the first aging leaves behind. The memstress_args
    // page migrates too (while the vCPU writes populated memory, before that aging: the check's
    // 16369 folios), and the second aging leaves nothing behind.
    const repopMigrated = migratable(16384);
    expect(r.lruGenLeftBehind).toEqual([repopMigrated, 0]);
    expect(r.stdout).toContain(
      `WARNING: Too many pages still idle (${repopMigrated} out of 16384), this will affect performance results.`,
    );
    const n = r.numa!;
    expect(n.vcpuNode).toBe(1);
    expect(n.stats.pagesMigrated).toBe(repopMigrated + 1);
    const repop = n.phases.find((p) => p.name === 'Re-populating memory')!;
    expect(repop.pagesMigrated).toBe(repopMigrated);
    const lines = formatIdleChecks({ ...r, numaPhases: n.phases }, '6.13');
    expect(lines[3]).toContain(`since the previous check: ${repopMigrated + 1} folios migrated`);
  });

  it('page_idle: scans zap accessed SPTEs, but the hinting faults make the PTEs young again, so no page is still idle', () => {
    const r = run({ vcpuBytes: 16 * MIB, ...FAST_SCANS, numaScanPeriodMinMs: 4, numaScanSizeMb: 4 });
    expect(r.failure).toBeNull();
    expect(r.markIdle.map((m) => m.map((v) => v.stillIdle))).toEqual([[0], [0]]);
    const s = r.numa!.stats;
    expect(s.accessedZaps).toBe(PAGE_IDLE_ACCESSED_ZAPS);
    expect(s.accessedDropped).toBe(PAGE_IDLE_ACCESSED_ZAPS);
    expect(s.hintFaults).toBeGreaterThan(s.accessedZaps);
    // The 4096 - 4096 % PAGEVEC_SIZE = 4092 test folios on the LRU and the memstress_args page.
    expect(s.pagesMigrated).toBe(migratable(4096) + 1);
  });

  it('pre-6.13 sends each zapped Accessed bit to folio_mark_accessed: PG_idle cleared with the classic LRU, refs with lru_gen, and -w 0 fails', () => {
    const pi = run({
      vcpuBytes: 16 * MIB,
      ...FAST_SCANS,
      numaScanPeriodMinMs: 4,
      numaScanSizeMb: 4,
      adPolicy: 'pre-6.13',
    });
    expect(pi.numa!.stats.accessedToIdleClear).toBe(PAGE_IDLE_ACCESSED_ZAPS);
    expect(pi.numa!.stats.accessedDropped).toBe(0);
    expect(pi.counters.kvm.zapMarkedAccessed).toBe(PAGE_IDLE_ACCESSED_ZAPS);
    const lg = run({
      vcpuBytes: 64 * MIB,
      lruGen: true,
      ...FAST_SCANS,
      adPolicy: 'pre-6.13',
      warnOnly: false,
    });
    expect(lg.numa!.stats.accessedToLruGenRefs).toBe(lg.numa!.stats.accessedZaps);
    expect(lg.numa!.stats.accessedToIdleClear).toBe(0);
    // Refs do not count for aging: the same pages stay behind as with 6.13, and without the
    // NUMA auto mode (-w 0) the selftest fails there.
    expect(lg.lruGenLeftBehind).toEqual([migratable(16384)]);
    expect(lg.failure).toBe(`Too many pages still idle (${migratable(16384)} out of 16384)`);
  });

  it('needs two nodes and 4 KiB pages', () => {
    expect(() => runAccessTracking({ vcpus: 1, vcpuBytes: MIB, numaBalancing: true }, 'x86-tdp')).toThrow(
      OptionsError,
    );
    expect(() => run({ vcpuBytes: 2 * MIB, backing: 'anonymous_thp', numaBalancing: true })).toThrow(
      'numaBalancing: anonymous_thp is mapped by PMDs',
    );
  });

  it('classifies a still-idle page by its last accessed-SPTE zap since the previous marking', () => {
    const zap = {
      ns: 2_000_000,
      pfn: 0x5000,
      gfn: 0x123,
      cause: 'change_prot_numa' as const,
      outcome: 'dropped' as const,
    };
    const lastZap = new AccessedZapTrail(0x7000);
    lastZap.set(zap);
    const nb = { lastZap } as unknown as NumaBalancing;
    const c = noStillIdleCauses();
    classifyStillIdle(nb, 0x5000, 1_000_000, c);
    classifyStillIdle(nb, 0x5000, 3_000_000, c);
    classifyStillIdle(nb, 0x6000, 0, c);
    expect([c.accessedDropped, c.accessedToLruGenRefs, c.other]).toEqual([1, 0, 2]);
    const lines = explainStillIdle(c, '6.13');
    expect(lines[0]).toBe(
      '  pfn 0x5000 (gfn 0x123): the guest touched it after the previous marking, so its SPTE had Accessed set;',
    );
    expect(lines[1]).toContain(
      'change_prot_numa (task_numa_work) → mmu_notifier_invalidate_range_start (MMU_NOTIFY_PROTECTION_VMA)',
    );
  });

  it('the shadow MMU also hands zapped accessed SPTEs to the policy (mmu_spte_clear_track_bits)', () => {
    const fast = { ...FAST_SCANS, numaScanPeriodMinMs: 4, numaScanSizeMb: 4 };
    const r = run({ vcpuBytes: 16 * MIB, ...fast, mmu: 'shadow', adPolicy: 'pre-6.13' });
    const s = r.numa!.stats;
    expect(s.accessedZaps).toBe(SHADOW_ACCESSED_ZAPS);
    expect(s.accessedToIdleClear).toBe(s.accessedZaps);
    expect(r.counters.kvm.zapMarkedAccessed).toBe(s.accessedZaps);
  });
});
