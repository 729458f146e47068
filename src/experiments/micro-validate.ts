/**
 * Models no kernel file: the micro-experiment section of `mmulab validate`: every row of
 * references/micro-*.yaml simulated on the profile of its machine (micro/reference-profiles.ts) by
 * the code of `mmulab micro`, next to the published figure, or listed with why it is not simulated.
 */
import { PAGE_SIZE, PMD_SIZE } from '../host/page-table.ts';
import { type CostTerm, loadProfile, withCosts } from '../sim/profile.ts';
import { OptionsError } from './access-tracking/options.ts';
import { type LinePlacement, runLineContention } from './micro/line-contention.ts';
import {
  type FaultLock,
  PAGE_FAULT1_MEMSIZE,
  type PageFaultKernel,
  type PageFaultMode,
  type PageFaultTest,
  runPageFault,
} from './micro/page-fault.ts';
import { PFT_DEFAULT_MEMSIZE, type PftKernel, runPft } from './micro/pft.ts';
import { MICRO_SOURCE_FAULT_LOCK, MICRO_SOURCE_KERNEL, machineProfile } from './micro/reference-profiles.ts';
import {
  type LineContentionReference,
  loadLineContentionReference,
  loadPageFaultReference,
  loadPftReference,
  type PageFaultReference,
  type PftReference,
} from './micro/references.ts';
import { runParallel, siblingModule } from './parallel.ts';

/** Issue 16's bar for a micro-experiment: simulated within ±25 % of the published figure. */
export const MICRO_TOLERANCE = 0.25;

/**
 * One simulation of the section, as `mmulab micro` runs it (default seed, 1 iteration); `costs`
 * replaces figures of the profile (calibrate's trial values). A page-fault job without `faultLock`
 * takes mmap_lock, without `thp` faults 4 KiB pages.
 */
export type MicroJob = (
  | {
      experiment: 'line-contention';
      profile: string;
      placement: LinePlacement;
      threads: number;
      /** Report one thread's time per RMW instead of the time per hand-off. */
      perThread?: true;
    }
  | {
      experiment: 'page-fault';
      profile: string;
      /** Without it, page_fault1. */
      test?: PageFaultTest;
      mode: PageFaultMode;
      threads: number;
      memsize: number;
      faultLock?: FaultLock;
      /** The mmap_lock fault path's kernel; without it, 5.13. */
      kernel?: PageFaultKernel;
      thp?: true;
    }
  | { experiment: 'pft'; profile: string; threads: number; memsize: number; kernel: PftKernel }
) & { costs?: Partial<Record<CostTerm, number>> };

/** The three reference files. */
export interface MicroReferences {
  line: LineContentionReference;
  pageFault: PageFaultReference;
  pft: PftReference;
}

/** One published row next to its simulation, or with the reason it is not simulated. */
export interface MicroValidationRow {
  /** 'line-contention', 'pft', or the will-it-scale test ('page_fault1', ...). */
  experiment: string;
  /** The reference machine (`machine` of the row). */
  machine: string;
  /** Placement (line-contention), mode (page_fault) or kernel (pft). */
  setting: string;
  threads: number;
  published: number;
  /** 'ns per hand-off', 'pages/s total' or 'faults/s total'. */
  unit: string;
  src: string;
  /** The profile that simulated the row, null when it was not simulated. */
  profile: string | null;
  simulated: number | null;
  /** simulated / published. */
  ratio: number | null;
  /** |ratio - 1| <= MICRO_TOLERANCE. */
  withinTolerance: boolean | null;
  /** Why the row is not simulated (null when it is). */
  notSimulated: string | null;
}

/**
 * The section: bytes per page_fault1 task (4 KiB rows, and THP rows: `memsize` rounded up to whole
 * 2 MiB huge pages) and the rows, in the order of the reference files.
 */
export interface MicroValidation {
  memsize: number;
  thpMemsize: number;
  rows: MicroValidationRow[];
}

/** Options of `runMicroValidation`. */
export interface MicroValidateOptions {
  /** Bytes each page_fault1 task maps (default 128 MiB, page_fault1's MEMSIZE). */
  memsize?: number;
  /** Simulations to run at once (worker threads). */
  jobs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Runs one job and gives its simulated value in the row's unit (default: `runMicroJob`). */
  run?: (job: MicroJob) => number;
  references?: MicroReferences;
  /** Figures to replace in a job's profile, by profile name (calibrate's trial values). */
  costs?: (profile: string) => Partial<Record<CostTerm, number>> | undefined;
}

/**
 * Runs one job: ns per hand-off (two threads in turn), one thread's ns per RMW (`perThread`),
 * pages per second of all tasks, or pft's faults per second.
 */
export function runMicroJob(j: MicroJob): number {
  const profile = j.costs === undefined ? j.profile : withCosts(loadProfile(j.profile), j.costs);
  if (j.experiment === 'line-contention') {
    const r = runLineContention({ threads: j.threads, placement: j.placement }, profile);
    return j.perThread ? r.nsPerOpPerThread : r.nsPerRmw;
  }
  if (j.experiment === 'pft')
    return runPft({ threads: j.threads, memsize: j.memsize, kernel: j.kernel }, profile).faultsPerSec;
  const { test, threads, mode, memsize, faultLock, kernel, thp } = j;
  return runPageFault({ test, threads, mode, memsize, faultLock, kernel, thp }, profile).pagesPerSec;
}

/** A reference row before it runs, with its job (null when it is not simulated). */
export type Planned = {
  row: Omit<MicroValidationRow, 'simulated' | 'ratio' | 'withinTolerance'>;
  job: MicroJob | null;
};

/** Each reference row with its job, or the reason it has none. */
export function planMicroValidation(refs: MicroReferences, memsize: number): Planned[] {
  const plan: Planned[] = [];
  for (const r of refs.line.rows) {
    const { profile, why } = machineProfile(r.machine);
    const base = {
      experiment: 'line-contention',
      machine: r.machine,
      setting: r.placement,
      threads: r.threads,
    };
    const row = { ...base, published: r.value, unit: r.unit, src: r.src, profile };
    plan.push(
      profile === null
        ? { row: { ...row, notSimulated: why }, job: null }
        : {
            row: { ...row, notSimulated: null },
            job: {
              experiment: 'line-contention',
              profile,
              placement: r.placement,
              threads: r.threads,
              ...(r.unit === 'ns per op per thread' ? { perThread: true as const } : {}),
            },
          },
    );
  }
  for (const r of refs.pageFault.rows) {
    const { profile, why } = machineProfile(r.machine);
    const base = {
      experiment: r.test,
      machine: r.machine,
      setting: r.thp ? `${r.mode}/THP` : r.mode,
      threads: r.threads,
    };
    const row = { ...base, published: r.value, unit: r.unit, src: r.src };
    plan.push(
      profile === null
        ? { row: { ...row, profile: null, notSimulated: why }, job: null }
        : {
            row: { ...row, profile, notSimulated: null },
            job: pageFaultJob(profile, r, memsize),
          },
    );
  }
  for (const r of refs.pft.rows) {
    const { profile, why } = machineProfile(r.machine);
    const base = { experiment: 'pft', machine: r.machine, setting: `thread/${r.kernel}`, threads: r.threads };
    const row = { ...base, published: r.value, unit: r.unit, src: r.src };
    plan.push(
      profile === null
        ? { row: { ...row, profile: null, notSimulated: why }, job: null }
        : {
            row: { ...row, profile, notSimulated: null },
            job: {
              experiment: 'pft',
              profile,
              threads: r.threads,
              memsize: PFT_DEFAULT_MEMSIZE,
              kernel: r.kernel,
            },
          },
    );
  }
  return plan;
}

/** Bytes per task of a THP row: `memsize` in whole 2 MiB huge pages (page_fault1 maps 64 of them). */
export function thpMemsize(memsize: number): number {
  return Math.ceil(memsize / PMD_SIZE) * PMD_SIZE;
}

/**
 * The job of a page_fault1 row: its mode and task count, with THP when the row had it (on a
 * whole number of huge pages per task), taking the fault lock (and the mmap_lock path's kernel) of
 * its source's kernel.
 */
function pageFaultJob(profile: string, r: PageFaultReference['rows'][number], memsize: number): MicroJob {
  const lock = Object.hasOwn(MICRO_SOURCE_FAULT_LOCK, r.src) ? MICRO_SOURCE_FAULT_LOCK[r.src] : 'mmap_lock';
  const kernel = Object.hasOwn(MICRO_SOURCE_KERNEL, r.src) ? MICRO_SOURCE_KERNEL[r.src] : undefined;
  return {
    experiment: 'page-fault',
    profile,
    ...(r.test === 'page_fault1' ? {} : { test: r.test }),
    mode: r.mode,
    threads: r.threads,
    memsize: r.thp ? thpMemsize(memsize) : memsize,
    ...(lock === 'mmap_lock' ? {} : { faultLock: lock }),
    ...(kernel === undefined ? {} : { kernel }),
    ...(r.thp ? { thp: true as const } : {}),
  };
}

/**
 * Simulates every reference row that has a profile for its machine (on worker threads with
 * `jobs` > 1; the results do not depend on it) and lines them up with the published figures.
 */
export function runMicroValidation(o: MicroValidateOptions = {}): MicroValidation {
  const memsize = o.memsize ?? PAGE_FAULT1_MEMSIZE;
  const references = o.references ?? loadMicroReferences();
  const jobs = microValidationJobs({ memsize, references }).map((j) => {
    const costs = o.costs?.(j.profile);
    return costs === undefined ? j : { ...j, costs };
  });
  const plan = planMicroValidation(references, memsize);
  const values =
    o.run === undefined
      ? runParallel(jobs, {
          n: o.jobs ?? 1,
          workerModule: siblingModule('micro-validate-worker', import.meta.url),
          runHere: runMicroJob,
          // A THP job faults once per 512 pages: about 16 times less run time per byte mapped.
          cost: (j) =>
            j.experiment === 'page-fault'
              ? (j.threads * j.memsize) / (j.thp ? 16 : 1)
              : j.experiment === 'pft'
                ? j.memsize
                : 0,
          onResult: o.onProgress,
          errorOf: (m) => new Error(m),
        })
      : jobs.map((j, i) => {
          const v = o.run!(j);
          o.onProgress?.(i + 1, jobs.length);
          return v;
        });
  let k = 0;
  const rows = plan.map(({ row, job }) => {
    if (job === null) return { ...row, simulated: null, ratio: null, withinTolerance: null };
    const simulated = values[k++];
    const ratio = simulated / row.published;
    return { ...row, simulated, ratio, withinTolerance: Math.abs(ratio - 1) <= MICRO_TOLERANCE };
  });
  return { memsize, thpMemsize: thpMemsize(memsize), rows };
}

/** The reference files. */
function loadMicroReferences(): MicroReferences {
  return {
    line: loadLineContentionReference(),
    pageFault: loadPageFaultReference(),
    pft: loadPftReference(),
  };
}

/**
 * The section's simulations, in row order; checks the options and reads the references first, so
 * that a bad one is an OptionsError before anything is simulated.
 */
export function microValidationJobs(
  o: Pick<MicroValidateOptions, 'memsize' | 'references'> = {},
): MicroJob[] {
  const memsize = o.memsize ?? PAGE_FAULT1_MEMSIZE;
  if (!Number.isSafeInteger(memsize) || memsize < PAGE_SIZE || memsize % PAGE_SIZE !== 0)
    throw new OptionsError(
      `--micro-memsize must be a positive multiple of the 4 KiB page size, not ${memsize}`,
    );
  return planMicroValidation(o.references ?? loadMicroReferences(), memsize).flatMap((p) =>
    p.job === null ? [] : [p.job],
  );
}

const num = (x: number | null, unit: string, w: number) =>
  (x === null ? 'n/a' : unit.startsWith('ns per') ? x.toFixed(1) : String(Math.round(x))).padStart(w);

/** The section as text. */
export function formatMicroValidation(m: MicroValidation): string {
  const lines = [
    '# micro-experiments: published (hardware) vs simulated, each machine on its profile (docs/micro-references.md)',
    ...(m.memsize === PAGE_FAULT1_MEMSIZE
      ? []
      : [
          `# note: page_fault1-3 simulated with ${m.memsize} bytes per task${m.thpMemsize === m.memsize ? '' : ` (THP rows: ${m.thpMemsize}, whole 2 MiB pages)`}; the published runs map 128 MiB`,
        ]),
    'experiment      machine      profile      placement/mode threads    published    simulated unit                 sim/pub  ±25%',
  ];
  for (const r of m.rows) {
    const head = `${r.experiment.padEnd(15)} ${r.machine.padEnd(12)} ${(r.profile ?? '-').padEnd(12)} ${r.setting.padEnd(14)} ${String(r.threads).padStart(7)} ${num(r.published, r.unit, 12)}`;
    lines.push(
      r.notSimulated !== null
        ? `${head} ${'-'.padStart(12)} ${r.unit.padEnd(20)}       -  not simulated: ${r.notSimulated}`
        : `${head} ${num(r.simulated, r.unit, 12)} ${r.unit.padEnd(20)} ${`${r.ratio!.toFixed(2)}x`.padStart(7)}  ${r.withinTolerance ? 'yes' : 'NO'}`,
    );
  }
  const sim = m.rows.filter((r) => r.notSimulated === null);
  lines.push(
    `# ${sim.filter((r) => r.withinTolerance).length} of ${sim.length} simulated rows within ±${MICRO_TOLERANCE * 100} %; ${m.rows.length - sim.length} rows not simulated`,
  );
  return `${lines.join('\n')}\n`;
}
