/**
 * Models no kernel file: what NUMA balancing (kernel/sched/fair.c, mm/mprotect.c, mm/memory.c,
 * mm/migrate.c) did during an access_tracking_perf_test run, per phase, and why the selftest's
 * idle-page checks see the counts they see: the event trail of a page whose Accessed bit a zap lost.
 */
import type { AccessedZap } from '../../host/accessed-zap-trail.ts';
import type { NumaBalancing, NumaBalancingStats } from '../../host/numa-balancing.ts';
import { formatSeconds } from './selftest-output.ts';

/** The NUMA balancing counters that change during a phase. */
export type NumaPhaseCounts = Pick<
  NumaBalancingStats,
  | 'scans'
  | 'pteUpdates'
  | 'hintFaults'
  | 'pagesMigrated'
  | 'accessedZaps'
  | 'accessedDropped'
  | 'accessedToIdleClear'
  | 'accessedToLruGenRefs'
>;

const PHASE_KEYS: (keyof NumaPhaseCounts)[] = [
  'scans',
  'pteUpdates',
  'hintFaults',
  'pagesMigrated',
  'accessedZaps',
  'accessedDropped',
  'accessedToIdleClear',
  'accessedToLruGenRefs',
];

/** One phase of the selftest and what NUMA balancing did while it ran. */
export interface NumaPhase extends NumaPhaseCounts {
  name: string;
}

/** Counts of the pages a check found still idle, by why (page_idle marking). */
export interface StillIdleCauses {
  /** A NUMA invalidation zapped the page's accessed SPTE since the last marking, and nothing kept the bit. */
  accessedDropped: number;
  /** ... the bit went to folio_mark_accessed under lru_gen: refs counted, PG_idle kept. */
  accessedToLruGenRefs: number;
  /** Not accessed through an SPTE since the last marking, as far as the zaps show. */
  other: number;
  /** The first page counted through a lost bit, with its zap. */
  example: { pfn: number; zap: AccessedZap } | null;
}

/** What the CLI prints and --json carries about NUMA balancing. */
export interface NumaReport {
  stats: NumaBalancingStats;
  /** The node the vCPU threads were moved to after populating (-1: not moved). */
  vcpuNode: number;
  scanPeriodMs: number;
  phases: NumaPhase[];
}

/** Snapshots NUMA balancing's counters at phase boundaries. */
export class NumaPhaseRecorder {
  readonly phases: NumaPhase[] = [];
  private last: NumaPhaseCounts;

  constructor(readonly nb: NumaBalancing) {
    this.last = this.snapshot();
  }

  private snapshot(): NumaPhaseCounts {
    const s = this.nb.stats;
    const o = {} as NumaPhaseCounts;
    for (const k of PHASE_KEYS) o[k] = s[k];
    return o;
  }

  /** A phase named `name` ended now. */
  phaseDone(name: string): void {
    const now = this.snapshot();
    const p = { name } as NumaPhase;
    for (const k of PHASE_KEYS) p[k] = now[k] - this.last[k];
    this.phases.push(p);
    this.last = now;
  }
}

/**
 * Classifies a page the check found still idle: whether its last accessed-SPTE zap came after
 * `sinceNs` (the previous marking) and where the Accessed bit went.
 */
export function classifyStillIdle(nb: NumaBalancing, pfn: number, sinceNs: number, c: StillIdleCauses): void {
  const z = nb.lastZap.get(pfn);
  if (z === undefined || z.ns < sinceNs || z.cause === 'other' || z.outcome === 'idle-cleared') {
    c.other++;
    return;
  }
  if (z.outcome === 'dropped') c.accessedDropped++;
  else c.accessedToLruGenRefs++;
  if (c.example === null) c.example = { pfn, zap: z };
}

/** An empty tally. */
export function noStillIdleCauses(): StillIdleCauses {
  return { accessedDropped: 0, accessedToLruGenRefs: 0, other: 0, example: null };
}

const OUTCOME_TEXT = {
  dropped:
    'the accessed/dirty policy marks nothing on zap (6.13: no kvm_set_pfn_accessed), so the bit is gone',
  'lru-gen-refs':
    'kvm_set_pfn_accessed → folio_mark_accessed, which with lru_gen is lru_gen_inc_refs: PG_referenced/refs, PG_idle stays set',
  'idle-cleared': 'kvm_set_pfn_accessed → folio_mark_accessed cleared PG_idle',
} as const;

/** The event trail of one page whose Accessed bit a zap lost, as lines. */
export function explainStillIdle(c: StillIdleCauses, policy: string): string[] {
  if (c.example === null) return [];
  const { pfn, zap } = c.example;
  const via = zap.cause === 'change_prot_numa' ? 'change_prot_numa (task_numa_work)' : 'try_to_migrate';
  return [
    `  pfn 0x${pfn.toString(16)}${zap.gfn >= 0 ? ` (gfn 0x${zap.gfn.toString(16)})` : ''}: the guest touched it after the previous marking, so its SPTE had Accessed set;`,
    `  ${formatSeconds(zap.ns)}s ${via} → mmu_notifier_invalidate_range_start (${zap.cause === 'change_prot_numa' ? 'MMU_NOTIFY_PROTECTION_VMA' : 'MMU_NOTIFY_MIGRATE'}) → kvm_unmap_gfn_range zapped it;`,
    `  policy ${policy}: ${OUTCOME_TEXT[zap.outcome]};`,
    `  the host PTE (PROT_NONE, Accessed cleared by the previous marking) is old and KVM has no SPTE left to report young,`,
    `  so the next marking's page_idle read finds nothing young and counts the page as still idle.`,
  ];
}

/** The NUMA summary printed after the selftest's own output. */
export function formatNumaReport(r: NumaReport): string[] {
  const s = r.stats;
  const lines = [
    '',
    `NUMA balancing: ${r.vcpuNode < 0 ? 'vCPU threads left where they were placed' : `vCPU threads moved to node ${r.vcpuNode} after populating`}; scan period now ${r.scanPeriodMs} ms`,
    `  scans ${s.scans}, passes ${s.scanSeq}, pages scanned ${s.pagesScanned}, PTEs made PROT_NONE ${s.pteUpdates} (skipped ${s.pteSkipped}), invalidations ${s.invalidations}`,
    `  hinting faults ${s.hintFaults} (local ${s.hintFaultsLocal}), pages migrated ${s.pagesMigrated}, migrations failed ${s.migrateFail}`,
    `  accessed SPTEs zapped ${s.accessedZaps}: bit dropped ${s.accessedDropped}, PG_idle cleared ${s.accessedToIdleClear}, to lru_gen refs ${s.accessedToLruGenRefs}`,
    '  phase                          scans  PROT_NONE  hint-faults  migrated  accessed-zaps (dropped/idle-cleared/refs)',
  ];
  for (const p of r.phases)
    lines.push(
      `  ${p.name.padEnd(30)} ${String(p.scans).padStart(5)}  ${String(p.pteUpdates).padStart(9)}  ${String(p.hintFaults).padStart(11)}  ${String(p.pagesMigrated).padStart(8)}  ${p.accessedZaps} (${p.accessedDropped}/${p.accessedToIdleClear}/${p.accessedToLruGenRefs})`,
    );
  return lines;
}

/** The idle-page counts the selftest's checks saw, as `formatIdleChecks` prints them. */
export interface IdleChecks {
  /** page_idle: each marking's results, per vCPU. */
  markIdle: { vcpu: number; pages: number; stillIdle: number; numa?: StillIdleCauses }[][];
  /** lru_gen: the generation found after each marking and the pages left in the previous one. */
  lruGenGenerations: number[];
  lruGenLeftBehind: number[];
  mode: 'page_idle' | 'lru_gen';
  /** NUMA balancing per phase. */
  numaPhases: NumaPhase[];
}

/**
 * Why pages stayed in the previous generation at lru_gen marking `i` (1-based), from what NUMA
 * balancing did since the check before: folios migrated meanwhile were put back into the youngest
 * generation already (PG_active from lru_gen_del_folio, PG_workingset from the last promotion:
 * lru_gen_folio_seq gives max_seq), so this aging cannot move them to a newer one; and accessed
 * SPTEs zapped meanwhile left nothing young for the walk (6.13 drops the bit; pre-6.13 turns it
 * into lru_gen refs, which aging does not read).
 */
function lruGenCause(phases: NumaPhase[], i: number): string | null {
  const marks = phases.flatMap((p, k) => (p.name.startsWith('Mark memory idle') ? [k] : []));
  const end = marks[i - 1];
  if (end === undefined) return null;
  const start = i >= 2 ? marks[i - 2] + 1 : phases.findIndex((p) => p.name === 'Re-populating memory');
  let migrated = 0;
  let dropped = 0;
  let refs = 0;
  for (let k = Math.max(0, start); k <= end; k++) {
    migrated += phases[k].pagesMigrated;
    dropped += phases[k].accessedDropped;
    refs += phases[k].accessedToLruGenRefs;
  }
  return `since the previous check: ${migrated} folios migrated (put back in the youngest generation, so aging cannot promote them past it); ${dropped} accessed SPTEs zapped with the bit dropped, ${refs} with it turned into lru_gen refs (the walk finds neither young)`;
}

/**
 * The counts the selftest's idle-page checks saw (page_idle: still_idle per vCPU and marking, and
 * why; lru_gen: the generation found and the pages left behind), and the trail of one page whose
 * Accessed bit a zap lost.
 */
export function formatIdleChecks(c: IdleChecks, policy: string): string[] {
  const lines = [`Idle-page checks (${c.mode}, accessed/dirty policy ${policy}):`];
  let example: StillIdleCauses | null = null;
  if (c.mode === 'page_idle') {
    c.markIdle.forEach((marks, i) => {
      for (const m of marks) {
        const n = m.numa;
        const why =
          n === undefined
            ? ''
            : `: Accessed dropped at a zap ${n.accessedDropped}, went to lru_gen refs ${n.accessedToLruGenRefs}, other ${n.other}`;
        lines.push(
          `  marking ${i + 1}, vCPU${m.vcpu}: still idle ${m.stillIdle} of ${m.pages} (check: < ${Math.floor(m.pages / 10)})${why}`,
        );
        if (example === null && n?.example) example = n;
      }
    });
  } else {
    c.lruGenGenerations.forEach((g, i) => {
      const left = i === 0 ? '' : `, pages left in the previous generation ${c.lruGenLeftBehind[i - 1]}`;
      lines.push(
        `  ${i === 0 ? 're-populated' : `marking ${i}`}: generation with 90% of the pages ${g}${left}`,
      );
      const why = i === 0 ? null : lruGenCause(c.numaPhases, i);
      if (why !== null && c.lruGenLeftBehind[i - 1] > 0) lines.push(`    ${why}`);
    });
  }
  if (example !== null) {
    lines.push('Why a page was still idle:');
    lines.push(...explainStillIdle(example, policy));
  }
  return lines;
}
