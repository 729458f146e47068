/**
 * Models kernel/sched/fair.c (CONFIG_NUMA_BALANCING): the sysctls, the per-mm scan state, the
 * scan-period arithmetic (task_scan_min / task_scan_max / task_scan_start, update_task_scan_period),
 * task_numa_fault and task_numa_placement, and /proc/vmstat's numa_* counters. The scanner itself
 * is task-numa-work.ts, the hinting fault numa-fault.ts, migration migrate.ts.
 */
import type { SimThread } from '../sim/thread.ts';
import { AccessedZapTrail, type ZapCause, type ZapOutcome } from './accessed-zap-trail.ts';
import type { Host } from './host.ts';
import type { Mm } from './mm.ts';

/** The numa_balancing sysctls (/sys/kernel/debug/sched/numa_balancing/), in their units. */
export interface NumaBalancingSysctls {
  /** scan_delay_ms: how long after the mm is created its first scan may run (default 1000). */
  scanDelayMs: number;
  /** scan_period_min_ms (default 1000). */
  scanPeriodMinMs: number;
  /** scan_period_max_ms (default 60000). */
  scanPeriodMaxMs: number;
  /** scan_size_mb: MiB of present PTEs each scan makes PROT_NONE (default 256). */
  scanSizeMb: number;
}

/** The kernel's defaults. */
export const NUMA_BALANCING_DEFAULTS: NumaBalancingSysctls = {
  scanDelayMs: 1000,
  scanPeriodMinMs: 1000,
  scanPeriodMaxMs: 60000,
  scanSizeMb: 256,
};

/** MAX_SCAN_WINDOW: MiB scanned per second at most, which floors task_scan_min. */
export const MAX_SCAN_WINDOW = 2560;
/** NUMA_PERIOD_SLOTS and NUMA_PERIOD_THRESHOLD of update_task_scan_period. */
export const NUMA_PERIOD_SLOTS = 10;
export const NUMA_PERIOD_THRESHOLD = 7;
const NS_PER_MS = 1_000_000;
const PAGES_PER_MB = 256;

/** /proc/vmstat numa_* counters and the scanner's own. */
export class NumaBalancingStats {
  /** task_numa_work runs that scanned (won the numa_next_scan cmpxchg). */
  scans = 0;
  /** Completed passes over the address space (numa_scan_seq). */
  scanSeq = 0;
  /** Virtual pages covered by change_prot_numa ranges. */
  pagesScanned = 0;
  /** numa_pte_updates: PTEs made PROT_NONE. */
  pteUpdates = 0;
  /** Present PTEs change_pte_range skipped (zero page, already PROT_NONE, on target_node, dirty file). */
  pteSkipped = 0;
  /** MMU_NOTIFY_PROTECTION_VMA invalidations issued by change_prot_numa. */
  invalidations = 0;
  /** numa_hint_faults and numa_hint_faults_local. */
  hintFaults = 0;
  hintFaultsLocal = 0;
  /** numa_pages_migrated (pgmigrate_success for MR_NUMA_MISPLACED) and failed migrations. */
  pagesMigrated = 0;
  migrateFail = 0;
  /** Secondary-MMU (KVM) zaps of an accessed leaf inside NUMA invalidations, by outcome. */
  accessedZaps = 0;
  /** ... whose Accessed bit nothing recorded (the policy marks nothing on zap). */
  accessedDropped = 0;
  /** ... that went to folio_mark_accessed with the classic LRU (PG_idle cleared). */
  accessedToIdleClear = 0;
  /** ... that went to folio_mark_accessed with lru_gen (refs counted, PG_idle kept). */
  accessedToLruGenRefs = 0;
}

/** NUMA balancing of one mm (sched_numa_balancing on, NUMA_BALANCING_NORMAL). */
export class NumaBalancing {
  readonly stats = new NumaBalancingStats();
  /** mm->numa_next_scan, ns. */
  numaNextScan: number;
  /** mm->numa_scan_offset. */
  numaScanOffset = 0;
  /** mm->numa_scan_seq. */
  numaScanSeq = 0;
  /** The scanning task's p->numa_scan_period (ms; 0 until task_numa_work sets it) and node_stamp. */
  numaScanPeriod = 0;
  nodeStamp = 0;
  /** p->numa_scan_seq: the pass task_numa_placement last saw. */
  private taskScanSeq = 0;
  /** p->numa_faults_locality[remote, local, failed] and NUMA_MEMBUF faults [shared, private]. */
  readonly faultsLocality = [0, 0, 0];
  readonly faultTypes = [0, 0];
  /** p->numa_faults[NUMA_MEM] per node: decayed hinting faults on each node's memory. */
  readonly faultsMem: number[];
  private readonly faultsMemBuf: number[];
  /** p->numa_preferred_nid (-1: NUMA_NO_NODE); the model does not move tasks towards it. */
  preferredNid = -1;
  /**
   * folio last_cpupid per frame (the kernel keeps it in the page flags): (thread id, node) as one
   * number, -1 for a frame that has not taken a hinting fault.
   */
  readonly lastCpupid: Int32Array;
  /** The invalidation in progress that the scanner or migration issued, for `noteAccessedZap`. */
  invalidating: ZapCause = 'other';
  /** The last accessed-leaf zap of each frame (follows migrations). */
  readonly lastZap: AccessedZapTrail;
  /** Stops the tick loop (the selftest is done). */
  stopped = false;

  constructor(
    readonly host: Host,
    readonly mm: Mm,
    readonly sysctls: NumaBalancingSysctls,
    /** atomic_read(&mm->mm_users): threads sharing the mm (1: single-threaded, target_node applies). */
    readonly mmUsers: number,
    createdNs: number,
  ) {
    // init_numa_balancing: the first scan waits scan_delay after the mm was created.
    this.numaNextScan = createdNs + sysctls.scanDelayMs * NS_PER_MS;
    const nodes = host.mem.nodes.length;
    this.lastCpupid = new Int32Array(host.mem.flags.length).fill(-1);
    this.lastZap = new AccessedZapTrail(host.mem.flags.length);
    this.faultsMem = new Array(nodes).fill(0);
    this.faultsMemBuf = new Array(nodes).fill(0);
  }

  /** Pages one scan window covers (scan_size_mb in pages). */
  get scanPages(): number {
    return this.sysctls.scanSizeMb * PAGES_PER_MB;
  }

  /** task_nr_scan_windows: rss in scan windows, rounded up (at least 1). */
  taskNrScanWindows(): number {
    const n = this.scanPages;
    const rss = this.mm.rss > 0 ? this.mm.rss : n;
    return Math.ceil(rss / n);
  }

  /** task_scan_min (ms): scan_period_min per window, floored at 1000 / (MAX_SCAN_WINDOW / size). */
  taskScanMin(): number {
    const size = this.sysctls.scanSizeMb;
    const windows = size < MAX_SCAN_WINDOW ? Math.floor(MAX_SCAN_WINDOW / size) : 1;
    const floor = Math.floor(1000 / windows);
    return Math.max(floor, Math.floor(this.sysctls.scanPeriodMinMs / this.taskNrScanWindows()));
  }

  /** task_scan_max (ms); no numa_group, so no scaling by shared faults. */
  taskScanMax(): number {
    return Math.max(this.taskScanMin(), Math.floor(this.sysctls.scanPeriodMaxMs / this.taskNrScanWindows()));
  }

  /** task_scan_start (ms): task_scan_min without a numa_group. */
  taskScanStart(): number {
    return this.taskScanMin();
  }

  /**
   * task_numa_fault(last_cpupid, mem_node, pages, flags) for the faulting thread: private unless
   * another thread faulted on the page last; task_numa_placement once per scan pass; then the
   * per-node buffers and locality counts.
   */
  taskNumaFault(
    t: SimThread,
    lastCpupid: number,
    memNode: number,
    pages: number,
    local: boolean,
    migrated: boolean,
    failed: boolean,
  ): void {
    const priv = lastCpupid < 0 || cpupidTid(lastCpupid) === t.id ? 1 : 0;
    this.taskNumaPlacement();
    if (migrated) this.stats.pagesMigrated += pages;
    if (failed) this.faultsLocality[2] += pages;
    this.faultsMemBuf[memNode] += pages;
    this.faultTypes[priv] += pages;
    this.faultsLocality[local ? 1 : 0] += pages;
  }

  /**
   * task_numa_placement: once per numa_scan_seq, decay the per-node faults, pick the node with the
   * most as the preferred node, and adapt the scan period to the faults of the pass.
   */
  private taskNumaPlacement(): void {
    if (this.taskScanSeq === this.numaScanSeq) return;
    this.taskScanSeq = this.numaScanSeq;
    let maxFaults = 0;
    for (let nid = 0; nid < this.faultsMem.length; nid++) {
      this.faultsMem[nid] += this.faultsMemBuf[nid] - Math.floor(this.faultsMem[nid] / 2);
      this.faultsMemBuf[nid] = 0;
      if (this.faultsMem[nid] > maxFaults) {
        maxFaults = this.faultsMem[nid];
        this.preferredNid = nid;
      }
    }
    this.updateTaskScanPeriod(this.faultTypes[0], this.faultTypes[1]);
    this.faultTypes[0] = 0;
    this.faultTypes[1] = 0;
  }

  /**
   * update_task_scan_period: slower (doubled, and numa_next_scan pushed back) without faults or
   * after a failed migration; otherwise by slots of a tenth of the period, up when most faults are
   * private or local, down when they are not.
   */
  updateTaskScanPeriod(shared: number, priv: number, nowNs = this.host.engine.now): void {
    const [remote, local, failed] = this.faultsLocality;
    if (local + shared === 0 || failed > 0) {
      this.numaScanPeriod = Math.min(this.taskScanMax(), this.numaScanPeriod * 2);
      this.numaNextScan = nowNs + this.numaScanPeriod * NS_PER_MS;
    } else {
      const slot = Math.ceil(this.numaScanPeriod / NUMA_PERIOD_SLOTS);
      const lr = Math.floor((local * NUMA_PERIOD_SLOTS) / (local + remote));
      const ps = Math.floor((priv * NUMA_PERIOD_SLOTS) / (priv + shared));
      let diff: number;
      if (ps >= NUMA_PERIOD_THRESHOLD) diff = Math.max(1, ps - NUMA_PERIOD_THRESHOLD) * slot;
      else if (lr >= NUMA_PERIOD_THRESHOLD) diff = Math.max(1, lr - NUMA_PERIOD_THRESHOLD) * slot;
      else diff = -(NUMA_PERIOD_THRESHOLD - Math.max(lr, ps)) * slot;
      const p = this.numaScanPeriod + diff;
      this.numaScanPeriod = Math.min(Math.max(p, this.taskScanMin()), this.taskScanMax());
    }
    this.faultsLocality.fill(0);
  }

  /**
   * Called by a secondary MMU (through its zap of an accessed leaf) with what the Accessed bit
   * became: records it for the event trail when NUMA balancing issued the invalidation.
   */
  noteAccessedZap(t: SimThread, pfn: number, gfn: number, outcome: ZapOutcome): void {
    const cause = this.invalidating;
    if (cause !== 'other') {
      this.stats.accessedZaps++;
      if (outcome === 'dropped') this.stats.accessedDropped++;
      else if (outcome === 'idle-cleared') this.stats.accessedToIdleClear++;
      else this.stats.accessedToLruGenRefs++;
    }
    this.lastZap.set({ ns: t.now, pfn, gfn, cause, outcome });
  }

  /** A folio moved from `from` to `to`: its trail records and last_cpupid follow it. */
  folioMoved(from: number, to: number): void {
    this.lastZap.move(from, to);
    const c = this.lastCpupid[from];
    this.lastCpupid[from] = -1;
    if (c >= 0) this.lastCpupid[to] = c;
  }
}

/** cpu_pid_to_cpupid, as the model keeps it: thread id and node. */
export function mkCpupid(tid: number, nid: number): number {
  return tid * 64 + nid;
}

/** cpupid_to_pid (the thread id). */
export function cpupidTid(c: number): number {
  return Math.floor(c / 64);
}

/** cpupid_to_nid. */
export function cpupidNid(c: number): number {
  return c % 64;
}
