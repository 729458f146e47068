/**
 * `mmulab micro page-fault`: will-it-scale page_fault1 (tests/page_fault1.c) on the host model
 * alone, no KVM: N tasks each loop mmap 128 MiB private anonymous, write one byte per 4 KiB page
 * (a first-touch write fault each: do_user_addr_fault in arch/x86/mm/fault.c, then do_anonymous_page
 * in mm/memory.c), munmap. Thread mode: N threads of one process share its mm; process mode: one mm
 * each. With transparent huge pages (`thp`, enabled=always) the first write in each 2 MiB faults in
 * a huge folio (do_huge_pmd_anonymous_page in mm/huge_memory.c) and the other 511 do not fault.
 * Checked against references/micro-page-fault.yaml (docs/micro-references.md).
 */
import { Host } from '../../host/host.ts';
import { PAGEVEC_SIZE, PAGEVEC_SIZE_PRE_6_9 } from '../../host/lru-add.ts';
import { MmapSem } from '../../host/mmap-sem.ts';
import { type TlbFlushStats, unmapRegion } from '../../host/munmap.ts';
import { PAGE_SIZE, PMD_SIZE } from '../../host/page-table.ts';
import { pcpListRoom } from '../../host/pcp.ts';
import { MAX_MAPPING_ID } from '../../host/phys-mem.ts';
import type { Vma } from '../../host/vma.ts';
import { CAT } from '../../sim/accounting.ts';
import type { CacheLine } from '../../sim/cache-line.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type TimeReport, timeReport } from '../../sim/time-report.ts';
import { checkMemsize, checkThreadCount, MicroOptionsError } from './micro-options.ts';
import { isMappedWritable, type TaskMm, writeFault } from './write-fault.ts';

/** page_fault1.c's MEMSIZE. */
export const PAGE_FAULT1_MEMSIZE = 128 * 1024 * 1024;

/** Tasks as pthreads of one process, or as processes. */
export const PAGE_FAULT_MODES = ['thread', 'process'] as const;
export type PageFaultMode = (typeof PAGE_FAULT_MODES)[number];
/** What a fault locks: mmap_lock for read (up to 6.3) or the VMA's lock (6.4+, lock_vma_under_rcu). */
export const FAULT_LOCKS = ['mmap_lock', 'per-vma'] as const;
export type FaultLock = (typeof FAULT_LOCKS)[number];

/** Options of `runPageFault`. */
export interface PageFaultOptions {
  threads: number;
  mode: PageFaultMode;
  /** Bytes each task maps per iteration (page_fault1: 128 MiB). */
  memsize?: number;
  /** mmap-write-munmap iterations per task. */
  iterations?: number;
  faultLock?: FaultLock;
  /**
   * Transparent huge pages (enabled=always): the mapping is anonymous_thp, so a fault maps a 2 MiB
   * folio; `memsize` must then be whole huge pages.
   */
  thp?: boolean;
  seed?: number;
}

/** What a THP run adds to the result (absent without THP). */
export interface PageFaultThp {
  /** do_huge_pmd_anonymous_page faults: one 2 MiB folio each (thp_fault_alloc). */
  hugeFaults: number;
  /** do_anonymous_page faults (4 KiB). */
  pageFaults: number;
  /** Writes that found their page mapped and did not fault. */
  writesWithoutFault: number;
  /** Folios munmap freed (one per huge page). */
  foliosFreed: number;
}

/** What a page-fault run measured (all simulated). */
export interface PageFaultResult {
  profile: string;
  threads: number;
  mode: PageFaultMode;
  faultLock: FaultLock;
  memsize: number;
  iterations: number;
  cpus: number[];
  /** Pages written per task (= faults without THP). */
  perTaskOps: number[];
  /** Faults taken (= pages written without THP). */
  faults: number;
  elapsedNs: number;
  /** Pages per second of all tasks together (will-it-scale's figure). */
  pagesPerSec: number;
  /** Faults that queued behind an mmap_lock writer; mmap/munmap writers that waited for a zap. */
  readersQueued: number;
  writersQueued: number;
  tlbFlushes: number;
  tlbFlushIpis: number;
  /** Present only for a THP run. */
  thp?: PageFaultThp;
  time: TimeReport;
}

/**
 * will-it-scale binds task i to hwloc core i mod cores; hwloc numbers socket 0's cores first, so
 * task i runs on Linux CPU i (physical cores of socket 0, of socket 1, then their SMT siblings).
 */
export function pageFaultCpus(p: CostProfile, threads: number): number[] {
  checkThreadCount(p, threads);
  return Array.from({ length: threads }, (_, i) => i);
}

/** Checks the options a user gives; throws `MicroOptionsError` (one line) for bad ones. */
function checkOptions(o: PageFaultOptions, memsize: number, iterations: number): void {
  if (!(PAGE_FAULT_MODES as readonly string[]).includes(o.mode))
    throw new MicroOptionsError(`--mode must be one of ${PAGE_FAULT_MODES.join(', ')}, not '${o.mode}'`);
  const lock = o.faultLock ?? 'mmap_lock';
  if (!(FAULT_LOCKS as readonly string[]).includes(lock))
    throw new MicroOptionsError(`--fault-lock must be one of ${FAULT_LOCKS.join(', ')}, not '${lock}'`);
  checkMemsize(memsize);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new MicroOptionsError(`--iterations must be a whole number >= 1, not ${iterations}`);
  if (o.thp === true && memsize % PMD_SIZE !== 0)
    throw new MicroOptionsError(
      `--memsize must be a multiple of the 2 MiB huge page size with --thp, not ${memsize}`,
    );
  if (o.mode === 'process' && o.threads > MAX_MAPPING_ID)
    throw new MicroOptionsError(
      `--threads ${o.threads}: process mode runs at most ${MAX_MAPPING_ID} processes (the model's rmap mapping ids)`,
    );
}

/** Runs page_fault1 with the options on the profile; deterministic for a given seed. */
export function runPageFault(
  o: PageFaultOptions,
  profileOrName: CostProfile | string = 'seed003-x86',
): PageFaultResult {
  const profile = typeof profileOrName === 'string' ? loadProfile(profileOrName) : profileOrName;
  const memsize = o.memsize ?? PAGE_FAULT1_MEMSIZE;
  const iterations = o.iterations ?? 1;
  checkOptions(o, memsize, iterations);
  const faultLock = o.faultLock ?? 'mmap_lock';
  const cpus = pageFaultCpus(profile, o.threads);
  const engine = new Engine({ profile, seed: o.seed ?? 0 });
  const pages = memsize / PAGE_SIZE;
  // Every node can hold every task's pages and full per-CPU lists (tasks allocate on their node).
  const nodePages = o.threads * pages + pcpListRoom(engine.cpuCount, profile.pcpBatch) + 4096;
  const host = new Host(engine, { nodePages: Array(Math.max(1, profile.sockets)).fill(nodePages) });
  // The references' kernels (4.16, 5.13) batch 15 folios per LRU drain; per-VMA locks run today's.
  host.lru.batchSize = faultLock === 'mmap_lock' ? PAGEVEC_SIZE_PRE_6_9 : PAGEVEC_SIZE;
  // and move one pcp batch per refill and spill (PCP auto-tuning came in 6.7).
  for (const pcp of host.mem.pcps) pcp.autoTune = faultLock !== 'mmap_lock';
  const cat = {
    entry: engine.categories.id('page fault entry/exit', 'cpu'),
    mmap: engine.categories.id('mmap', 'cpu'),
    munmap: engine.categories.id('munmap', 'cpu'),
  };
  const flush: TlbFlushStats = { flushes: 0, ipis: 0 };
  const perTask: number[] = Array(o.threads).fill(0);
  const counts = { faults: 0, foliosFreed: 0 };
  const mms: TaskMm[] = [];
  let end = 0;
  let region: Vma | null = null;
  for (let i = 0; i < o.threads; i++) {
    if (o.mode === 'process' || i === 0) {
      const mm = host.createMm();
      const sem = new MmapSem(mm);
      // The mmap_lock fault path is 5.13's (the references' kernel): its down_read_trylock's first
      // cmpxchg expects an unlocked count. Per-VMA locks came in 6.4, with the read-first loop.
      sem.trylockFlavour = faultLock === 'mmap_lock' ? 'expect-unlocked' : 'read-first';
      // 5.13-rc1's mm_struct has mmap_lock at offset 128: `count` and `owner` share a line.
      if (faultLock === 'mmap_lock') mm.setMmapLockOwnerInCountLine();
      mms.push({ mm, sem, threads: [] });
      // The VMA is made once and reused: each iteration's mmap takes mmap_lock for write as
      // mmap_region does, but the model does not allocate, link and free a vm_area_struct each time.
      // The threads of one process share one VMA, each using its own MEMSIZE slice of it (the
      // kernel merges adjacent anonymous mappings too; one rmap owner per process also keeps the
      // model within its mapping ids).
      // With THP the region is PMD-aligned (thp_get_unmapped_area), and so is every task's slice.
      region = mm.mmap(
        (o.mode === 'thread' ? o.threads : 1) * memsize,
        o.thp ? 'anonymous_thp' : 'anonymous',
      );
    }
    const tm = mms[mms.length - 1];
    const slice = o.mode === 'thread' ? i : 0;
    const start = region!.start + slice * memsize;
    // The per-VMA lock of the task's own mapping, as if it had a VMA of its own.
    const vmaLock = engine.sharedLine(`mm${tm.mm.pid}.vma${i}.vm_lock`, 'vma->vm_lock');
    const range = { start, end: start + memsize };
    const body = (t: SimThread) =>
      pageFault1Task(
        t,
        tm,
        range,
        faultLock === 'per-vma' ? vmaLock : null,
        iterations,
        cat,
        flush,
        counts,
        (n) => {
          perTask[i] += n;
          if (t.now > end) end = t.now;
        },
      );
    tm.threads.push(engine.spawn(`task${i}`, body, 0, -1, cpus[i]));
  }
  engine.run();
  const written = perTask.reduce((a, b) => a + b, 0);
  const faults = counts.faults;
  const stats = host.faultStats;
  if (faults !== stats.anon + stats.huge || (!o.thp && faults !== written))
    throw new Error('page_fault1: a fault did not map a new folio');
  return {
    profile: profile.name,
    threads: o.threads,
    mode: o.mode,
    faultLock,
    memsize,
    iterations,
    cpus,
    perTaskOps: perTask,
    faults,
    elapsedNs: end,
    pagesPerSec: (written / end) * 1e9,
    readersQueued: mms.reduce((a, m) => a + m.sem.readerQueued, 0),
    writersQueued: mms.reduce((a, m) => a + m.sem.writerQueued, 0),
    tlbFlushes: flush.flushes,
    tlbFlushIpis: flush.ipis,
    ...(o.thp
      ? {
          thp: {
            hugeFaults: stats.huge,
            pageFaults: stats.anon,
            writesWithoutFault: written - faults,
            foliosFreed: counts.foliosFreed,
          },
        }
      : {}),
    time: timeReport(engine),
  };
}

/**
 * One task of page_fault1: per iteration, mmap (mmap_lock for write), one write per page, which
 * faults when no writable leaf maps the page (every write without THP, the first per 2 MiB with
 * it), munmap (mmap_lock for write, downgraded for the zap and free). `done` gets the pages written;
 * `counts` the faults taken and the folios munmap freed.
 */
function* pageFault1Task(
  t: SimThread,
  tm: TaskMm,
  vma: { start: number; end: number },
  vmaLock: CacheLine | null,
  iterations: number,
  cat: { entry: number; mmap: number; munmap: number },
  flush: TlbFlushStats,
  counts: { faults: number; foliosFreed: number },
  done: (pages: number) => void,
): Generator<void, void, void> {
  const { mm, sem } = tm;
  const p = mm.host.engine.profile;
  const cpusOfMm = () => tm.threads.map((x) => x.cpu);
  // Without THP every write faults (each iteration maps fresh memory), so only a THP mapping needs
  // the page-table check per write.
  const thp = mm.findVma(vma.start)?.folioPages === 512;
  for (let k = 0; k < iterations; k++) {
    // mmap: system call, mmap_region under mmap_lock for write.
    t.advanceAs(CAT.syscall, p.syscallNs);
    let prev = t.enter(cat.mmap);
    yield* sem.writeLock(t);
    sem.writeUnlock(t);
    t.leave(prev);
    let written = 0;
    for (let va = vma.start; va < vma.end; va += PAGE_SIZE) {
      written++;
      // A write the TLB or the page walk finds a writable leaf for does not trap: with THP, the 511
      // writes after a huge fault. Their time is not charged: a store each to a page whose lines
      // clear_huge_page just wrote (process_huge_page clears the target subpage last), mostly hits
      // in L2 or the LLC, a few ns each, so 511 x ~2-4 ns = 1-2 us against the ~130 us the model
      // charges for clearing 2 MiB (about 1 %; the model has no user-store term to charge it by).
      if (thp && isMappedWritable(mm, va)) continue;
      counts.faults++;
      yield* writeFault(t, tm, va, vmaLock, cat.entry);
    }
    // munmap: mmap_lock for write to detach the VMA, downgraded to read for unmap_region.
    t.advanceAs(CAT.syscall, p.syscallNs);
    prev = t.enter(cat.munmap);
    yield* sem.writeLock(t);
    sem.downgradeWrite(t);
    counts.foliosFreed += yield* unmapRegion(t, mm, vma.start, vma.end, cpusOfMm, flush);
    sem.readUnlockDowngraded(t);
    t.leave(prev);
    done(written);
  }
}
