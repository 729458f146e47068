/** Models no kernel file: the counters behind an access-tracking run, typed, the same in every mode. */
/**
 * The counters behind an access_tracking_perf_test run (the model's view of /sys/kernel/debug/kvm,
 * lock statistics, /proc/vmstat-like MGLRU and page_idle counts). One shape in every mode: a
 * mechanism that did not run reports zeros.
 */
import type { GuestStats } from '../../guest/memstress.ts';
import type { HostFaultStats } from '../../host/fault.ts';
import type { NotifierStats } from '../../host/mmu-notifier.ts';
import type { KvmStats } from '../../kvm/kvm-stats.ts';
import { ShadowMmu } from '../../kvm/x86/shadow-mmu/shadow-mmu.ts';
import { ShadowMmuStats } from '../../kvm/x86/shadow-mmu/shadow-mmu-stats.ts';
import type { Kswapd } from '../../reclaim/mglru/kswapd.ts';
import type { LruGen } from '../../reclaim/mglru/lru-gen.ts';
import { LruGenStats } from '../../reclaim/mglru/lru-gen-stats.ts';
import type { PageIdleStats } from '../../reclaim/page-idle/page-idle.ts';
import type { Engine } from '../../sim/engine.ts';
import type { LockStats } from '../../sync/lock-stats.ts';
import type { MemstressVm } from './memstress-vm.ts';

/** The number-valued fields of a stats class, as a plain object. */
export type Counts<T> = { [K in keyof T as T[K] extends number ? K : never]: number };

/** Per-vCPU values keyed `vcpu0`, `vcpu1`, ... */
export type PerVcpu = Record<`vcpu${number}`, number>;

/** MGLRU counters: aging, the mm walk (summed over lruvecs), eviction and reclaim. */
export interface LruGenCounters extends Counts<LruGenStats> {
  mmLeafTotal: number;
  mmLeafYoung: number;
  mmNonleafFound: number;
  mmNonleafAdded: number;
  evicted: number;
  refaults: number;
  recentRefaults: number;
  kswapdWakeups: number;
  kswapdReclaimed: number;
  directReclaims: number;
  reclaimThrottled: number;
}

/** Memory the run used, in the model's units (pages, tables, bytes of simulator state). */
export interface MemoryCounters {
  maxPfn: number;
  framesAllocated: number;
  slot0Written: number;
  lruPages: number;
  lruBatched: number;
  sptePages: number;
  hostPageTables: number;
  stateBytes: number;
}

/** Every counter of an access-tracking run. */
export interface AccessTrackingCounters {
  engine: { steps: number; threads: number; hostCpus: number };
  vcpuLockWaitNs: PerVcpu;
  vcpuExits: PerVcpu;
  guest: Counts<GuestStats>;
  kvm: Counts<KvmStats>;
  /** The shadow MMU's kvm->stat fields and zapping counts; zeros on the TDP MMU. */
  shadowMmu: Counts<ShadowMmuStats>;
  mmuLock: Counts<LockStats>;
  mmapLock: Counts<LockStats>;
  rmapLock: Counts<LockStats>;
  pteLocks: Counts<LockStats>;
  mmuNotifier: Counts<NotifierStats>;
  pageIdle: Counts<PageIdleStats>;
  /** Zeros in page_idle mode, where the host runs without MGLRU. */
  lruGen: LruGenCounters;
  hostFaults: Counts<HostFaultStats>;
  memory: MemoryCounters;
}

/** Reads every counter of a finished (or stopped) run. */
export function collectCounters(engine: Engine, vm: MemstressVm, guest: GuestStats): AccessTrackingCounters {
  const host = vm.host;
  return {
    engine: { steps: engine.steps, threads: engine.threads.length, hostCpus: engine.cpuCount },
    vcpuLockWaitNs: Object.fromEntries(vm.kvm.vcpus.map((v) => [`vcpu${v.id}`, v.thread?.lockWaitNs() ?? 0])),
    vcpuExits: Object.fromEntries(vm.kvm.vcpus.map((v) => [`vcpu${v.id}`, v.exits])),
    guest: { ...guest },
    kvm: { ...vm.kvm.stats },
    shadowMmu: { ...(vm.kvm.mmu instanceof ShadowMmu ? vm.kvm.mmu.stats : new ShadowMmuStats()) },
    mmuLock: { ...vm.kvm.mmuLock.stats },
    mmapLock: { ...vm.mm.mmapLock.stats },
    rmapLock: { ...vm.testVma.rmapLock.stats },
    pteLocks: { ...vm.mm.ptl.stats },
    mmuNotifier: { ...host.mmuNotifier.stats },
    pageIdle: { ...vm.pageIdle.stats },
    lruGen: lruGenCounters(vm.lruGen, vm.kswapd),
    hostFaults: { ...host.faultStats },
    memory: {
      maxPfn: host.mem.maxPfn,
      framesAllocated: host.mem.nodes.reduce((s, n) => s + n.allocated, 0),
      slot0Written: vm.slot0Written,
      lruPages: host.lru.onLru,
      lruBatched: host.lru.pending,
      sptePages: vm.kvm.mmu.pool.tables,
      hostPageTables: vm.mm.pt.tables,
      stateBytes: stateBytes(vm),
    },
  };
}

/** MGLRU counters and the mm-walk statistics summed over lruvecs; zeros without MGLRU. */
function lruGenCounters(lg: LruGen | null, kswapd: readonly Kswapd[]): LruGenCounters {
  const walk = [0, 0, 0, 0];
  if (lg !== null) for (const l of lg.all()) for (let i = 0; i < 4; i++) walk[i] += l.mmState.stats[i];
  return {
    ...(lg?.stats ?? new LruGenStats()),
    mmLeafTotal: walk[0],
    mmLeafYoung: walk[1],
    mmNonleafFound: walk[2],
    mmNonleafAdded: walk[3],
    evicted: lg?.evictionStats.reclaimed ?? 0,
    refaults: lg?.evictionStats.refaults ?? 0,
    recentRefaults: lg?.evictionStats.recentRefaults ?? 0,
    kswapdWakeups: kswapd.reduce((n, k) => n + k.stats.wakeups, 0),
    kswapdReclaimed: kswapd.reduce((n, k) => n + k.stats.reclaimed, 0),
    directReclaims: lg?.directReclaims ?? 0,
    reclaimThrottled: lg?.reclaimThrottled ?? 0,
  };
}

/** Bytes held by the per-page typed arrays: frames, host page tables, SPTEs, the shadow MMU's rmaps and pages, shmem page cache. */
function stateBytes(vm: MemstressVm): number {
  const m = vm.host.mem;
  const pool = vm.kvm.mmu.pool;
  let bytes =
    m.flags.byteLength +
    m.index.byteLength +
    m.data.byteLength +
    (m.lruLinks === null ? 0 : m.lruLinks.next.byteLength);
  for (const mm of vm.host.mms) bytes += mm.pt.entries.byteLength;
  bytes +=
    pool.lo.byteLength +
    pool.hi.byteLength +
    pool.level.byteLength +
    pool.gfn.byteLength +
    pool.parent.byteLength;
  bytes += vm.kvm.mmu.simulatorBytes();
  for (const v of vm.mm.vmas) bytes += v.file?.pages.byteLength ?? 0;
  return bytes;
}

/** The counters as a text table: one `group.name value` row per counter. */
export function formatCounters(c: AccessTrackingCounters): string {
  const rows: Array<[string, number]> = [];
  for (const [group, values] of Object.entries(c))
    for (const [name, v] of Object.entries(values as Record<string, number>))
      rows.push([`${group}.${name}`, v]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v).padStart(14)}`).join('\n')}\n`;
}
