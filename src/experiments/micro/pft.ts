/**
 * `mmulab micro pft`: mmtests' pft (Christoph Lameter's "Page Fault Test" as reworked by Lee
 * Schermerhorn, pft.c), thread mode, on the host model alone, no KVM. The launch thread maps one
 * private anonymous region of `memsize` bytes (mmap, not touched), starts N-1 worker threads (not
 * bound: the scheduler places them as it forks them) and runs worker 0 itself; on `go` each worker
 * writes one byte to every 4 KiB page of its own memsize/N slice, a first-touch write fault each
 * (do_user_addr_fault in arch/x86/mm/fault.c, do_anonymous_page in mm/memory.c). pft's faults/sec is
 * the pages over the time from the first worker's start to the last one's end. Nothing takes
 * mmap_lock for write in that interval: the only contention is the faults' own. Checked against
 * references/micro-pft.yaml (docs/micro-references.md).
 */
import { Host } from '../../host/host.ts';
import { PAGEVEC_SIZE_PRE_6_9 } from '../../host/lru-add.ts';
import { PAGE_SIZE } from '../../host/page-table.ts';
import { pcpListRoom } from '../../host/pcp.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type TimeReport, timeReport } from '../../sim/time-report.ts';
import { checkMemsize, checkThreadCount, MicroOptionsError } from './micro-options.ts';
import { referenceMmapSem, type TaskMm, writeFault } from './write-fault.ts';

/**
 * The kernels of the pft references: 5.12 (mmap_lock's `count` and `owner` in one cache line at
 * mm_struct offset 128; __down_read_trylock's first cmpxchg expects an unlocked count) and 6.2
 * (`owner` in a line of its own since 2e3025434a6b; the trylock reads the count first, since 5.16: 14c240488411).
 * Both batch 15 folios per LRU drain and move one pcp batch per refill (before 6.9 and 6.7).
 */
export const PFT_KERNELS = ['5.12', '6.2'] as const;
export type PftKernel = (typeof PFT_KERNELS)[number];

/**
 * The model's default region, 1 GiB: mmtests runs pft with a fifth of the machine's memory, but the
 * rate does not depend on the size (references/micro-pft.yaml).
 */
export const PFT_DEFAULT_MEMSIZE = 2 ** 30;

/** Options of `runPft`. */
export interface PftOptions {
  threads: number;
  /** pft -m: the whole region, shared out between the workers. */
  memsize?: number;
  kernel?: PftKernel;
  seed?: number;
}

/** What a pft run measured (all simulated). */
export interface PftResult {
  profile: string;
  threads: number;
  kernel: PftKernel;
  /** Pages (= faults) of all workers: pft rounds the region up to whole pages per worker. */
  pages: number;
  pagesPerThread: number;
  /** Each worker's CPU, as the scheduler placed it. */
  cpus: number[];
  /** Workers on each socket. */
  threadsPerSocket: number[];
  elapsedNs: number;
  /** pft's "fault/wsec": pages over the elapsed time. */
  faultsPerSec: number;
  /** Failed cmpxchg's of the faults' down_read_trylock loops. */
  trylockRetries: number;
  time: TimeReport;
}

/** Checks the options a user gives; throws `MicroOptionsError` (one line) for bad ones. */
function checkOptions(o: PftOptions, p: CostProfile, memsize: number, kernel: string): void {
  checkThreadCount(p, o.threads);
  if (!(PFT_KERNELS as readonly string[]).includes(kernel))
    throw new MicroOptionsError(`--kernel must be one of ${PFT_KERNELS.join(', ')} for pft, not '${kernel}'`);
  checkMemsize(memsize);
}

/** Runs pft with the options on the profile; deterministic for a given seed. */
export function runPft(o: PftOptions, profileOrName: CostProfile | string = 'skx-2s-112'): PftResult {
  const profile = typeof profileOrName === 'string' ? loadProfile(profileOrName) : profileOrName;
  const memsize = o.memsize ?? PFT_DEFAULT_MEMSIZE;
  const kernel = o.kernel ?? '5.12';
  checkOptions(o, profile, memsize, kernel);
  // pages_per_test = ROUND_UP(pages, nr_tests) / nr_tests
  const pagesPerThread = Math.ceil(memsize / PAGE_SIZE / o.threads);
  const pages = pagesPerThread * o.threads;
  const engine = new Engine({ profile, seed: o.seed ?? 0 });
  // Each node can hold all pages and full per-CPU lists (workers allocate on their node).
  const nodePages = pages + pcpListRoom(engine.cpuCount, profile.pcpBatch) + 4096;
  const host = new Host(engine, { nodePages: Array(Math.max(1, profile.sockets)).fill(nodePages) });
  host.lru.batchSize = PAGEVEC_SIZE_PRE_6_9;
  for (const pcp of host.mem.pcps) pcp.autoTune = false;
  const mm = host.createMm();
  const sem = referenceMmapSem(mm, kernel === '5.12');
  const region = mm.mmap(pages * PAGE_SIZE, 'anonymous');
  const tm: TaskMm = { mm, sem, threads: [] };
  const entry = engine.categories.id('page fault entry/exit', 'cpu');
  let end = 0;
  const cpus: number[] = [];
  for (let i = 0; i < o.threads; i++) {
    const start = region.start + i * pagesPerThread * PAGE_SIZE;
    const body = function* (t: SimThread): Generator<void, void, void> {
      for (let k = 0; k < pagesPerThread; k++) yield* writeFault(t, tm, start + k * PAGE_SIZE, null, entry);
      if (t.now > end) end = t.now;
    };
    const t = engine.spawn(`worker${i}`, body, 0);
    tm.threads.push(t);
    cpus.push(t.cpu);
  }
  engine.run();
  if (host.faultStats.anon !== pages) throw new Error('pft: a fault did not map a new folio');
  const threadsPerSocket = Array(Math.max(1, profile.sockets)).fill(0);
  for (const c of cpus) threadsPerSocket[engine.topology.socketOf[c]]++;
  return {
    profile: profile.name,
    threads: o.threads,
    kernel,
    pages,
    pagesPerThread,
    cpus,
    threadsPerSocket,
    elapsedNs: end,
    faultsPerSec: (pages / end) * 1e9,
    trylockRetries: mm.mmapLock.stats.cmpxchgFailed,
    time: timeReport(engine),
  };
}
