/**
 * Models no kernel file: the simulated host that holds physical memory, memcgs, mms, RCU and
 * swap; `outOfMemory` is out_of_memory of mm/oom_kill.c.
 */
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { RcuDomain } from '../sync/rcu.ts';
import { HostFaultStats } from './fault.ts';
import { LruAddBatches } from './lru-add.ts';
import type { LruGenHooks } from './lru-gen-hooks.ts';
import type { Memcg } from './memcg.ts';
import { MemcgTree } from './memcg.ts';
import { MemcgCharge } from './memcg-charge.ts';
import { Mm } from './mm.ts';
import { MmuNotifierDispatch } from './mmu-notifier.ts';
import type { NumaBalancing } from './numa-balancing.ts';
import { MAX_MAPPING_ID, PhysMem } from './phys-mem.ts';
import { SwapDevice } from './swap.ts';
import type { Vma } from './vma.ts';

/** Thrown when the OOM killer ends the simulated process; the CLI prints the message. */
export class OomKill extends Error {
  readonly code = 'MMULAB_OOM_KILL';
}

/** Options of the simulated host. */
export interface HostOptions {
  /** Pages per NUMA node. */
  nodePages: number[];
  /** Slots of the swap device (none: no swap). */
  swapPages?: number;
}

/** The host kernel's memory management: physical memory, cgroups, processes, RCU. */
export class Host {
  readonly mem: PhysMem;
  readonly memcgs = new MemcgTree();
  /** memcg charging: the per-CPU charge stocks and each memcg's page_counter lines. */
  readonly memcgCharge: MemcgCharge;
  readonly lru: LruAddBatches;
  readonly mms: Mm[] = [];
  /** Classic RCU. */
  readonly rcu: RcuDomain;
  /** The SRCU domain of mm/mmu_notifier.c. */
  readonly notifierSrcu: RcuDomain;
  readonly faultStats = new HostFaultStats();
  /** The swap device, if any. */
  readonly swap: SwapDevice | null;
  /**
   * Direct reclaim of a memcg whose charge would exceed memory.max (try_charge →
   * try_to_free_mem_cgroup_pages), provided by the reclaim policy. Returns pages reclaimed.
   */
  memcgReclaim: ((t: SimThread, memcg: Memcg, pages: number) => Generator<void, number, void>) | null = null;
  /**
   * The allocator's slow path before a fault allocates (wake kswapd, direct reclaim below the min
   * watermark), provided by the reclaim policy when global reclaim runs.
   */
  allocSlowpath: ((t: SimThread) => Generator<void, void, void>) | null = null;
  /** Next free pfn of the I/O memory space above RAM, where PCI BARs go (device-mem.ts). */
  iomemNextPfn = 0;
  /** The multi-gen LRU, when enabled (CONFIG_LRU_GEN_ENABLED). */
  lruGen: LruGenHooks | null = null;
  /** NUMA balancing (kernel.numa_balancing=1) of the mm it scans, when simulated. */
  numaBalancing: NumaBalancing | null = null;
  /** Calls into the MMU notifiers of an mm. */
  readonly mmuNotifier = new MmuNotifierDispatch(this);
  /** rmap owners by id (`PhysMem.mapping`): anonymous VMAs and shmem files' VMAs. */
  private readonly mappings: Array<Vma | null> = [null];

  constructor(
    readonly engine: Engine,
    opts: HostOptions,
  ) {
    this.mem = new PhysMem(engine, opts.nodePages);
    this.swap = opts.swapPages ? new SwapDevice(opts.swapPages) : null;
    if (this.swap !== null) this.mem.trackContent();
    this.lru = new LruAddBatches(this);
    this.memcgCharge = new MemcgCharge(engine, this.memcgs);
    this.rcu = new RcuDomain(engine, 'rcu', engine.profile.rcuGracePeriodNs, 0);
    this.notifierSrcu = new RcuDomain(engine, 'mmu_notifier srcu', engine.profile.srcuGracePeriodNs, 1);
  }
  /**
   * out_of_memory: the OOM killer picks the process with the largest rss (oom_badness) and kills
   * it. The simulated processes cannot die on their own, so this ends the run with the kernel's
   * message.
   */
  outOfMemory(reason: string): never {
    let victim: Mm | null = null;
    for (const mm of this.mms) if (victim === null || mm.rss > victim.rss) victim = mm;
    const who = victim === null ? 'no process' : `process ${victim.pid}, anon-rss:${victim.rss * 4}kB`;
    throw new OomKill(`Out of memory (${reason}): Killed ${who}`);
  }

  /** Creates a process (its mm) charged to `memcg` (default: the root cgroup). */
  createMm(memcg = this.memcgs.root): Mm {
    const mm = new Mm(this, 1000 + this.mms.length, memcg);
    this.mms.push(mm);
    return mm;
  }

  newMappingId(): number {
    if (this.mappings.length > MAX_MAPPING_ID)
      throw new Error(`too many mappings (at most ${MAX_MAPPING_ID})`);
    this.mappings.push(null);
    return this.mappings.length - 1;
  }

  registerMapping(id: number, vma: Vma): void {
    this.mappings[id] = vma;
  }

  /** The VMA that owns mapping id `id` (rmap: folio->mapping to a VMA). */
  mappingVma(id: number): Vma | null {
    return this.mappings[id] ?? null;
  }
}
