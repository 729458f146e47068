/**
 * Models no kernel file: experiment: seed 003's table, `access_tracking_perf_test -p -l` with no
 * aging and with each kernel variant, per vCPU count.
 */
import { type CostProfile, DEFAULT_PROFILE, loadProfile } from '../sim/profile.ts';
import { kernelVariant } from '../variants/kernel-variant.ts';
import { OptionsError, parseAccessTrackingOptions, type X86_MMUS } from './access-tracking/options.ts';
import { runAccessTracking } from './access-tracking/run.ts';
import { checkRunSize } from './access-tracking/run-limits.ts';
import { formatSeconds } from './access-tracking/selftest-output.ts';
import { runParallel, siblingModule } from './parallel.ts';

/** Options of `runTable`. */
export interface TableOptions {
  vcpus: number[];
  vcpuBytes: number;
  /** Kernel variants to compare with the no-aging baseline (6.12 is "no opt", 6.15 "opt"). */
  kernels: string[];
  seed?: number;
  /**
   * Runs of each row, with seeds `seed` .. `seed + seeds - 1` (default 1): the row is their mean,
   * with the range over the seeds (the model's run-to-run spread, as hardware's).
   */
  seeds?: number;
  profile?: CostProfile | string;
  /** Called after each run with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Simulations to run at once on worker threads (default 1: all in this thread). */
  jobs?: number;
  /** Refuse runs whose simulated state would exceed this many bytes. */
  memoryLimitBytes?: number;
  /** The x86 MMU every run uses (default: tdp). */
  mmu?: (typeof X86_MMUS)[number];
}

/** One row of seed 003's table. */
export interface TableRow {
  vcpus: number;
  /** 'no aging', 'no opt', 'opt' or a kernel name. */
  label: string;
  kernel: string | null;
  vcpuWallNs: number;
  /** Mean aging pass, null without aging. */
  avgPassNs: number | null;
  /** Aging passes (with several seeds, their mean). */
  passes: number;
  /** With several seeds: how many, and the smallest and largest vCPU wall time among them. */
  seeds?: number;
  vcpuWallRangeNs?: [number, number];
  /** The run's shared lines by kind, most transfers first (with several seeds, their mean). */
  lines: TableLine[];
}

/**
 * One kind of shared cache line in a run, summed over its instances (one per memcg level, per
 * node): what `perf c2c` attributes to the lock or counter it holds.
 */
export interface TableLine {
  kind: string;
  /** Accesses, those that found the line in their CPU's cache included (`LineReport`). */
  accesses: number;
  /** Accesses that pulled the line from another CPU, and of those, from another socket. */
  transfers: number;
  remoteTransfers: number;
  /** Time RMWs waited for the line before their own transfer. */
  waitNs: number;
}

/**
 * Lines summed by kind over `n` runs, each total divided by `n` and rounded (the mean of the runs),
 * most transfers first, then by kind.
 */
function sumByKind(lines: readonly TableLine[], n = 1): TableLine[] {
  const m = new Map<string, TableLine>();
  for (const l of lines) {
    const k = m.get(l.kind) ?? { kind: l.kind, accesses: 0, transfers: 0, remoteTransfers: 0, waitNs: 0 };
    k.accesses += l.accesses;
    k.transfers += l.transfers;
    k.remoteTransfers += l.remoteTransfers;
    k.waitNs += l.waitNs;
    m.set(l.kind, k);
  }
  const mean = (x: number) => Math.round(x / n);
  return [...m.values()]
    .map((l) => ({
      kind: l.kind,
      accesses: mean(l.accesses),
      transfers: mean(l.transfers),
      remoteTransfers: mean(l.remoteTransfers),
      waitNs: mean(l.waitNs),
    }))
    .sort((a, b) => b.transfers - a.transfers || (a.kind < b.kind ? -1 : 1));
}

/** The per-vCPU-count comparison printed after the table. */
export interface TableRatio {
  vcpus: number;
  /** Aging pass time of the first kernel over the second (no opt / opt). */
  passRatio: number | null;
  /** Wall-time overhead of each kernel against no aging, as a fraction. */
  overhead: Record<string, number>;
  /** With several seeds: the smallest and largest overhead of one seed's run against the same seed's no aging. */
  overheadRange?: Record<string, [number, number]>;
}

/** The name seed 003 gives a kernel's rows. */
export function kernelLabel(kernel: string): string {
  return kernel === '6.12' ? 'no opt' : kernel === '6.15' ? 'opt' : kernel;
}

/** One simulation of the table: a vCPU count and a kernel (null: no aging). */
export interface TableRowJob {
  vcpus: number;
  vcpuBytes: number;
  kernel: string | null;
  seed: number;
  profile?: CostProfile | string;
  mmu?: (typeof X86_MMUS)[number];
}

/** Runs one row of the table: `access_tracking_perf_test -p -l` on the model. */
export function runTableRow(j: TableRowJob): TableRow {
  const r = runAccessTracking(
    {
      vcpus: j.vcpus,
      vcpuBytes: j.vcpuBytes,
      benchmark: true,
      benchmarkAging: j.kernel !== null,
      kernel: j.kernel ?? '6.15',
      seed: j.seed,
      mmu: j.mmu,
    },
    j.profile,
  );
  if (r.benchmark === null) throw new OptionsError(`run failed: ${r.failure ?? 'no benchmark result'}`);
  return {
    vcpus: j.vcpus,
    label: j.kernel === null ? 'no aging' : kernelLabel(j.kernel),
    kernel: j.kernel,
    vcpuWallNs: r.benchmark.vcpuWallNs,
    avgPassNs: j.kernel === null ? null : r.benchmark.avgPassNs,
    passes: r.benchmark.passes,
    lines: sumByKind(r.time.lines),
  };
}

/** The mean of one row's runs (one per seed), rounded to whole nanoseconds, with the wall's range. */
function meanRow(runs: TableRow[]): TableRow {
  if (runs.length === 1) return runs[0];
  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const walls = runs.map((r) => r.vcpuWallNs);
  return {
    ...runs[0],
    vcpuWallNs: mean(walls),
    avgPassNs: runs[0].avgPassNs === null ? null : mean(runs.map((r) => r.avgPassNs!)),
    passes: runs.reduce((a, r) => a + r.passes, 0) / runs.length,
    seeds: runs.length,
    vcpuWallRangeNs: [Math.min(...walls), Math.max(...walls)],
    lines: sumByKind(
      runs.flatMap((r) => r.lines),
      runs.length,
    ),
  };
}

/**
 * seed 003's table: `access_tracking_perf_test -p -l -b B -v N` with no aging and with each kernel,
 * for each vCPU count. Every number comes from a full simulated run; with `jobs` > 1 the runs share
 * that many worker threads (same results, in the same order).
 */
export function runTable(o: TableOptions): { rows: TableRow[]; ratios: TableRatio[] } {
  for (const k of o.kernels)
    if (kernelVariant(k) === undefined) throw new OptionsError(`unknown kernel '${k}'`);
  if (o.vcpus.length === 0 || o.vcpus.some((v) => !Number.isInteger(v) || v < 1))
    throw new OptionsError('--vcpus takes a list of whole numbers >= 1');
  if (o.jobs !== undefined && (!Number.isInteger(o.jobs) || o.jobs < 1))
    throw new OptionsError('--jobs takes a whole number >= 1');
  const seeds = o.seeds ?? 1;
  if (!Number.isInteger(seeds) || seeds < 1) throw new OptionsError('--seeds takes a whole number >= 1');
  const profile = typeof o.profile === 'object' ? o.profile : loadProfile(o.profile ?? DEFAULT_PROFILE);
  for (const vcpus of o.vcpus) {
    const size = parseAccessTrackingOptions({ vcpus, vcpuBytes: o.vcpuBytes, benchmark: true, mmu: o.mmu });
    checkRunSize({ ...size, lruGen: true, memoryLimitBytes: o.memoryLimitBytes }, profile);
  }
  const jobs: TableRowJob[] = [];
  for (const v of o.vcpus)
    for (const kernel of [null, ...o.kernels])
      for (let i = 0; i < seeds; i++)
        jobs.push({
          vcpus: v,
          vcpuBytes: o.vcpuBytes,
          kernel,
          seed: (o.seed ?? 0) + i,
          profile: o.profile,
          mmu: o.mmu,
        });
  const runs = runParallel(jobs, {
    n: o.jobs ?? 1,
    workerModule: siblingModule('table-worker', import.meta.url),
    runHere: runTableRow,
    cost: (j) => j.vcpus * j.vcpuBytes,
    onResult: o.onProgress,
    errorOf: (m) => new OptionsError(m),
  });
  const rows: TableRow[] = [];
  for (let i = 0; i < runs.length; i += seeds) rows.push(meanRow(runs.slice(i, i + seeds)));
  const ratios = o.vcpus.map((v, vi) => {
    const of = rows.filter((r) => r.vcpus === v);
    const base = of.find((r) => r.kernel === null)!;
    const aged = of.filter((r) => r.kernel !== null);
    const overhead: Record<string, number> = {};
    for (const r of aged) overhead[r.label] = r.vcpuWallNs / base.vcpuWallNs - 1;
    const passRatio = aged.length >= 2 && aged[1].avgPassNs ? aged[0].avgPassNs! / aged[1].avgPassNs : null;
    if (seeds === 1) return { vcpus: v, passRatio, overhead };
    // Each seed's run against the same seed's no-aging run.
    const first = vi * (o.kernels.length + 1) * seeds;
    const overheadRange: Record<string, [number, number]> = {};
    aged.forEach((r, k) => {
      const each = Array.from(
        { length: seeds },
        (_, i) => runs[first + (k + 1) * seeds + i].vcpuWallNs / runs[first + i].vcpuWallNs - 1,
      );
      overheadRange[r.label] = [Math.min(...each), Math.max(...each)];
    });
    return { vcpus: v, passRatio, overhead, overheadRange };
  });
  return { rows, ratios };
}

/**
 * The table in seed 003's layout, then the ratios. With several seeds a row is their mean followed
 * by `[min..max]` of the wall time, and each overhead by its range over the seeds.
 */
export function formatTable(t: { rows: TableRow[]; ratios: TableRatio[] }, kernels: string[]): string {
  const lines = ['num_vcpus vcpu wall time aging avg pass time'];
  const sec = (ns: number) => formatSeconds(ns).slice(0, -1);
  let last = -1;
  for (const r of t.rows) {
    if (r.vcpus !== last) lines.push('');
    last = r.vcpus;
    const range =
      r.vcpuWallRangeNs === undefined ? '' : ` [${sec(r.vcpuWallRangeNs[0])}..${sec(r.vcpuWallRangeNs[1])}]`;
    lines.push(
      `${r.vcpus} (${r.label}) ${sec(r.vcpuWallNs)} ${r.avgPassNs === null ? 'n/a' : sec(r.avgPassNs)}${range}`,
    );
  }
  const seeds = t.rows[0]?.seeds;
  lines.push(
    '',
    seeds === undefined
      ? '# simulated seconds; per row:'
      : `# simulated seconds, mean of ${seeds} seeds; wall [min..max] and overhead [min..max] over the seeds; per row:`,
  );
  const names = kernels.map(kernelLabel);
  const head = ['num_vcpus'];
  if (names.length >= 2) head.push(`pass ${names[0]}/${names[1]}`);
  for (const n of names) head.push(`overhead ${n}`);
  lines.push(`# ${head.join('  ')}`);
  const pct = (x: number) => `${(x * 100).toFixed(seeds === undefined ? 1 : 2)}%`;
  for (const r of t.ratios) {
    const cols = [String(r.vcpus)];
    if (names.length >= 2) cols.push(r.passRatio === null ? 'n/a' : `${r.passRatio.toFixed(2)}x`);
    for (const n of names) {
      const range = r.overheadRange?.[n];
      cols.push(
        `${pct(r.overhead[n] ?? 0)}${range === undefined ? '' : ` [${pct(range[0])}..${pct(range[1])}]`}`,
      );
    }
    lines.push(`# ${cols.join('  ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The rows as CSV. */
export function tableCsv(rows: TableRow[]): string {
  const out = ['vcpus,variant,kernel,vcpu_wall_s,aging_avg_pass_s,aging_passes'];
  for (const r of rows)
    out.push(
      `${r.vcpus},${r.label},${r.kernel ?? ''},${r.vcpuWallNs / 1e9},${r.avgPassNs === null ? '' : r.avgPassNs / 1e9},${r.passes}`,
    );
  return `${out.join('\n')}\n`;
}
