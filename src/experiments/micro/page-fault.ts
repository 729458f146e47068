/**
 * `mmulab micro page-fault`: will-it-scale page_fault1 (tests/page_fault1.c) on the host model
 * alone, no KVM: N tasks each loop mmap 128 MiB private anonymous, write one byte per 4 KiB page
 * (a first-touch write fault each: do_user_addr_fault in arch/x86/mm/fault.c, then do_anonymous_page
 * in mm/memory.c), munmap. page_fault3 (tests/page_fault3.c) maps each task's own 128 MiB file
 * MAP_SHARED instead: after a first iteration that fills the page cache (not counted, as
 * will-it-scale's warm-up), every write is a shared file fault on a cached page (do_shared_fault:
 * filemap_fault, page_mkwrite) and munmap frees nothing. page_fault2 (tests/page_fault2.c) maps it
 * MAP_PRIVATE: every write copies the cached page into a new anonymous folio (do_cow_fault), which
 * munmap frees. Thread mode: N threads of one process share its mm; process mode: one mm each.
 * With transparent huge pages (`thp`, enabled=always) the first write in each 2 MiB faults in a
 * huge folio (do_huge_pmd_anonymous_page in mm/huge_memory.c) and the other 511 do not fault.
 * Checked against references/micro-page-fault.yaml (docs/micro-references.md).
 */
import { Host } from '../../host/host.ts';
import { PAGEVEC_SIZE, PAGEVEC_SIZE_PRE_6_9 } from '../../host/lru-add.ts';
import type { TlbFlushStats } from '../../host/munmap.ts';
import { PAGE_SIZE, PMD_SIZE } from '../../host/page-table.ts';
import { pcpListRoom } from '../../host/pcp.ts';
import { MAX_MAPPING_ID } from '../../host/phys-mem.ts';
import type { Vma } from '../../host/vma.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type TimeReport, timeReport } from '../../sim/time-report.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import { checkMemsize, checkThreadCount, MicroOptionsError } from './micro-options.ts';
import { pageFaultTask } from './page-fault-task.ts';
import { referenceMmapSem, type TaskMm } from './write-fault.ts';

/** page_fault1.c's MEMSIZE. */
export const PAGE_FAULT1_MEMSIZE = 128 * 1024 * 1024;

/**
 * The will-it-scale tests: page_fault1 (private anonymous memory), page_fault2 (a private file
 * mapping: copy-on-write faults), page_fault3 (a shared file).
 */
export const PAGE_FAULT_TESTS = ['page_fault1', 'page_fault2', 'page_fault3'] as const;
export type PageFaultTest = (typeof PAGE_FAULT_TESTS)[number];

/** Tasks as pthreads of one process, or as processes. */
export const PAGE_FAULT_MODES = ['thread', 'process'] as const;
export type PageFaultMode = (typeof PAGE_FAULT_MODES)[number];
/** What a fault locks: mmap_lock for read (up to 6.3) or the VMA's lock (6.4+, lock_vma_under_rcu). */
export const FAULT_LOCKS = ['mmap_lock', 'per-vma'] as const;
export type FaultLock = (typeof FAULT_LOCKS)[number];
/**
 * The kernel of the mmap_lock fault path: 5.13 (the Broadwell rows'; mm_struct keeps mmap_lock's
 * `count` and `owner` in one line, and __down_read_trylock's first cmpxchg expects an unlocked
 * count) or 6.2 (`owner` in a line of its own since 5.14, 2e3025434a6b; the trylock reads the count
 * first since 5.16, 14c240488411). Both batch 15 folios per LRU drain (before 6.9) and move one pcp batch per refill
 * and spill (before 6.7). The per-VMA lock path runs today's kernel.
 */
export const PAGE_FAULT_KERNELS = ['5.13', '6.2'] as const;
export type PageFaultKernel = (typeof PAGE_FAULT_KERNELS)[number];

/** Options of `runPageFault`. */
export interface PageFaultOptions {
  /** Default page_fault1. */
  test?: PageFaultTest;
  threads: number;
  mode: PageFaultMode;
  /** Bytes each task maps per iteration (page_fault1: 128 MiB). */
  memsize?: number;
  /**
   * mmap-write-munmap iterations per task (default 1; page_fault2/3: 2, the first of which fills the
   * page cache and is not counted).
   */
  iterations?: number;
  faultLock?: FaultLock;
  /** The mmap_lock fault path's kernel (default 5.13); not with the per-VMA lock. */
  kernel?: PageFaultKernel;
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
  test: PageFaultTest;
  threads: number;
  mode: PageFaultMode;
  faultLock: FaultLock;
  /** The mmap_lock fault path's kernel; null with the per-VMA lock (today's kernel). */
  kernel: PageFaultKernel | null;
  memsize: number;
  iterations: number;
  cpus: number[];
  /** Pages written per task (= faults without THP), page_fault2/3's warm-up iteration left out. */
  perTaskOps: number[];
  /** Faults taken (= pages written without THP), the warm-up's included. */
  faults: number;
  elapsedNs: number;
  /** When the last task ended its warm-up iteration (page_fault2/3; 0 without one). */
  warmedUpNs: number;
  /**
   * Pages per second of all tasks together (will-it-scale's figure): the pages counted over the
   * time from the end of the last warm-up to the end of the run.
   */
  pagesPerSec: number;
  /** Faults that queued behind an mmap_lock writer; mmap/munmap writers that waited for a zap. */
  readersQueued: number;
  writersQueued: number;
  tlbFlushes: number;
  tlbFlushIpis: number;
  /** Present only for a THP run. */
  thp?: PageFaultThp;
  /** Present only for page_fault2/3: faults that read their page in (the warm-up's), and page-cache hits. */
  file?: { pageCacheMisses: number; pageCacheHits: number };
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
  const test = o.test ?? 'page_fault1';
  if (!(PAGE_FAULT_TESTS as readonly string[]).includes(test))
    throw new MicroOptionsError(`--test must be one of ${PAGE_FAULT_TESTS.join(', ')}, not '${test}'`);
  if (!(PAGE_FAULT_MODES as readonly string[]).includes(o.mode))
    throw new MicroOptionsError(`--mode must be one of ${PAGE_FAULT_MODES.join(', ')}, not '${o.mode}'`);
  const lock = o.faultLock ?? 'mmap_lock';
  if (!(FAULT_LOCKS as readonly string[]).includes(lock))
    throw new MicroOptionsError(`--fault-lock must be one of ${FAULT_LOCKS.join(', ')}, not '${lock}'`);
  if (o.kernel !== undefined) {
    if (!(PAGE_FAULT_KERNELS as readonly string[]).includes(o.kernel))
      throw new MicroOptionsError(
        `--kernel must be one of ${PAGE_FAULT_KERNELS.join(', ')} for page-fault, not '${o.kernel}'`,
      );
    if (lock !== 'mmap_lock')
      throw new MicroOptionsError(
        "--kernel: the per-VMA lock path runs today's kernel; --kernel sets the mmap_lock path's",
      );
  }
  checkMemsize(memsize);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new MicroOptionsError(`--iterations must be a whole number >= 1, not ${iterations}`);
  if (o.thp === true && memsize % PMD_SIZE !== 0)
    throw new MicroOptionsError(
      `--memsize must be a multiple of the 2 MiB huge page size with --thp, not ${memsize}`,
    );
  if (test !== 'page_fault1') {
    if (o.thp === true)
      throw new MicroOptionsError(`--thp: ${test} maps a regular file, whose folios are 4 KiB here`);
    if (lock !== 'mmap_lock')
      throw new MicroOptionsError('--fault-lock per-vma: file faults under the VMA lock are not modelled');
    if (iterations < 2)
      throw new MicroOptionsError(
        `--iterations must be >= 2 with ${test} (the first fills the page cache and is not counted), not ${iterations}`,
      );
    if (o.threads > MAX_MAPPING_ID)
      throw new MicroOptionsError(
        `--threads ${o.threads}: ${test} runs at most ${MAX_MAPPING_ID} tasks (one file each; the model's rmap mapping ids)`,
      );
  }
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
  const test = o.test ?? 'page_fault1';
  const file = test !== 'page_fault1';
  const iterations = o.iterations ?? (file ? 2 : 1);
  const warmup = file ? 1 : 0;
  checkOptions(o, memsize, iterations);
  const faultLock = o.faultLock ?? 'mmap_lock';
  const kernel = faultLock === 'mmap_lock' ? (o.kernel ?? '5.13') : null;
  const cpus = pageFaultCpus(profile, o.threads);
  const engine = new Engine({ profile, seed: o.seed ?? 0 });
  const pages = memsize / PAGE_SIZE;
  // Every node can hold every task's pages and full per-CPU lists (tasks allocate on their node).
  const nodePages = o.threads * pages + pcpListRoom(engine.cpuCount, profile.pcpBatch) + 4096;
  const host = new Host(engine, { nodePages: Array(Math.max(1, profile.sockets)).fill(nodePages) });
  // The mmap_lock kernels (4.16 to 6.2) batch 15 folios per LRU drain; per-VMA locks run today's.
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
  let warmedUp = 0;
  // page_fault2/3: the counted iterations start together once every task has filled its page cache,
  // as in will-it-scale's steady state after its warm-up seconds.
  const warm = warmup > 0 ? new WaitCount(engine, true, 'warm-up (page cache filled)') : null;
  if (warm !== null) warm.value = o.threads;
  let region: Vma | null = null;
  for (let i = 0; i < o.threads; i++) {
    if (o.mode === 'process' || i === 0) {
      const mm = host.createMm();
      // The per-VMA lock path's kernel (6.4+) has 6.2's mmap_lock.
      const sem = referenceMmapSem(mm, kernel === '5.13');
      mms.push({ mm, sem, threads: [] });
      // The VMA is made once and reused: each iteration's mmap takes mmap_lock for write as
      // mmap_region does, but the model does not allocate, link and free a vm_area_struct each time.
      // The threads of one process share one VMA, each using its own MEMSIZE slice of it (the
      // kernel merges adjacent anonymous mappings too; one rmap owner per process also keeps the
      // model within its mapping ids).
      // With THP the region is PMD-aligned (thp_get_unmapped_area), and so is every task's slice.
      if (!file)
        region = mm.mmap(
          (o.mode === 'thread' ? o.threads : 1) * memsize,
          o.thp ? 'anonymous_thp' : 'anonymous',
        );
    }
    const tm = mms[mms.length - 1];
    // page_fault2/3: each task maps its own file (mkstemp, ftruncate, unlink), always the same one,
    // MAP_PRIVATE or MAP_SHARED.
    if (file) region = tm.mm.mmap(memsize, test === 'page_fault2' ? 'file-private' : 'file');
    const slice = o.mode === 'thread' && !file ? i : 0;
    const start = region!.start + slice * memsize;
    // The per-VMA lock of the task's own mapping, as if it had a VMA of its own.
    const vmaLock = engine.sharedLine(`mm${tm.mm.pid}.vma${i}.vm_lock`, 'vma->vm_lock');
    const range = { start, end: start + memsize };
    const body = (t: SimThread) =>
      pageFaultTask(
        t,
        tm,
        range,
        faultLock === 'per-vma' ? vmaLock : null,
        iterations,
        warm,
        cat,
        flush,
        counts,
        (n, k) => {
          if (k < warmup) {
            if (t.now > warmedUp) warmedUp = t.now;
            return;
          }
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
  const mapped = test === 'page_fault2' ? stats.cowFile : file ? stats.file : stats.anon + stats.huge;
  if (faults !== mapped || (!o.thp && faults !== written + warmup * o.threads * pages))
    throw new Error(`${test}: a fault did not map a page`);
  return {
    profile: profile.name,
    test,
    threads: o.threads,
    mode: o.mode,
    faultLock,
    kernel,
    memsize,
    iterations,
    cpus,
    perTaskOps: perTask,
    faults,
    elapsedNs: end,
    warmedUpNs: warmedUp,
    pagesPerSec: (written / (end - warmedUp)) * 1e9,
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
    ...(file
      ? { file: { pageCacheMisses: stats.fileReads, pageCacheHits: stats.file - stats.fileReads } }
      : {}),
    time: timeReport(engine),
  };
}
