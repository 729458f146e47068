/**
 * Models no kernel file: experiment: `mmulab validate`, seed 003's rows simulated next to the
 * published ones, then the micro-experiments next to their hardware references (micro-validate.ts).
 */
import { PAGE_SIZE } from '../host/page-table.ts';
import type { CostProfile } from '../sim/profile.ts';
import { OptionsError } from './access-tracking/options.ts';
import {
  formatMicroValidation,
  type MicroValidateOptions,
  type MicroValidation,
  microValidationJobs,
  runMicroValidation,
} from './micro-validate.ts';
import { type PublishedRow, SEED003_BYTES_PER_VCPU, SEED003_ROWS } from './published.ts';
import { runTable, type TableRow } from './table.ts';

/** One published row next to its simulation. */
export interface ValidationRow {
  vcpus: number;
  label: string;
  simulatedWallS: number;
  publishedWallS: number | null;
  simulatedPassS: number | null;
  publishedPassS: number | null;
}

/** Per vCPU count: the shape of the results. */
export interface ValidationShape {
  vcpus: number;
  /** Aging pass no opt / opt. */
  passRatio: { simulated: number | null; published: number | null };
  /** Wall-time overhead against no aging, no opt and opt. */
  overheadNoOpt: { simulated: number; published: number | null };
  overheadOpt: { simulated: number; published: number | null };
  /**
   * Growth against the smallest vCPU count of the run: the no-aging wall time and each aging pass
   * time divided by theirs (published only where both rows are published).
   */
  growth: {
    wall: { simulated: number; published: number | null };
    /**
     * What each first-touch fault of a vCPU took longer than at the smallest count, in µs: the
     * no-aging wall time's growth over the pages one vCPU faults in (published: 1 GiB of them).
     */
    perFaultUs: { simulated: number; published: number | null };
    passNoOpt: { simulated: number | null; published: number | null };
    passOpt: { simulated: number | null; published: number | null };
  };
}

/**
 * Per vCPU count: the no-aging run's shared lines per page faulted in, the figures `perf c2c` of the
 * real run can be held against (docs/real-host.md). Lines with no transfer are left out.
 */
export interface ValidationLines {
  vcpus: number;
  /** Pages faulted in: vCPUs times the pages of each one's memory. */
  pages: number;
  lines: {
    kind: string;
    /** Accesses to the line per page: an atomic, a store, or a load then a store counts one. */
    accessesPerPage: number;
    /** Pulls from another CPU's cache per page. */
    transfersPerPage: number;
    /** Of those, the share from the other socket. */
    remoteShare: number;
    /** Time waited for the line per page, in ns. */
    waitNsPerPage: number;
  }[];
}

/** Options of `runValidate`. */
export interface ValidateOptions {
  /** vCPU counts with published rows to compare (default: all, 1-8). */
  vcpus?: number[];
  /** vCPU counts without published rows to predict. */
  predict?: number[];
  vcpuBytes?: number;
  profile?: CostProfile | string;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
  /** Simulations to run at once (worker threads). */
  jobs?: number;
  /** Refuse runs whose simulated state would exceed this many bytes. */
  memoryLimitBytes?: number;
  /**
   * The micro-experiment section (default: run it on the profiles of the reference machines, not
   * `profile`); false skips it.
   */
  micro?: false | Pick<MicroValidateOptions, 'memsize' | 'run'>;
}

/** What `runValidate` gives: seed 003's rows and shape, and the micro section (null if skipped). */
export interface Validation {
  vcpuBytes: number;
  rows: ValidationRow[];
  shape: ValidationShape[];
  lines: ValidationLines[];
  micro: MicroValidation | null;
}

function published(vcpus: number, label: string): PublishedRow | undefined {
  return SEED003_ROWS.find((r) => r.vcpus === vcpus && r.label === label);
}

/**
 * Runs seed 003's experiment (no aging, 6.12 "no opt", 6.15 "opt") for the published vCPU counts and
 * any to predict, and lines the simulated numbers up with the published ones; then, unless
 * `micro` is false, the micro-experiment rows (`runMicroValidation`).
 */
export function runValidate(o: ValidateOptions = {}): Validation {
  const publishedCounts = [...new Set(SEED003_ROWS.map((r) => r.vcpus))];
  for (const v of o.vcpus ?? [])
    if (!publishedCounts.includes(v))
      throw new OptionsError(
        `--vcpus: no published row for ${v} vCPUs (published: ${publishedCounts.join(', ')}); --predict ${v} simulates it without one`,
      );
  const counts = [...(o.vcpus ?? [...new Set(SEED003_ROWS.map((r) => r.vcpus))]), ...(o.predict ?? [])];
  const tableRuns = counts.length * 3;
  const microRuns = o.micro === false ? 0 : microValidationJobs(o.micro).length;
  const t = runTable({
    vcpus: counts,
    vcpuBytes: o.vcpuBytes ?? SEED003_BYTES_PER_VCPU,
    kernels: ['6.12', '6.15'],
    seed: o.seed,
    profile: o.profile,
    onProgress: (done) => o.onProgress?.(done, tableRuns + microRuns),
    jobs: o.jobs,
    memoryLimitBytes: o.memoryLimitBytes,
  });
  const rows = t.rows.map((r: TableRow) => {
    const p = published(r.vcpus, r.label);
    return {
      vcpus: r.vcpus,
      label: r.label,
      simulatedWallS: r.vcpuWallNs / 1e9,
      publishedWallS: p?.vcpuWallS ?? null,
      simulatedPassS: r.avgPassNs === null ? null : r.avgPassNs / 1e9,
      publishedPassS: p?.agingPassS ?? null,
    };
  });
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
  const first = Math.min(...counts);
  const simulatedPages = (o.vcpuBytes ?? SEED003_BYTES_PER_VCPU) / PAGE_SIZE;
  const publishedPages = SEED003_BYTES_PER_VCPU / PAGE_SIZE;
  const at = (v: number, label: string) => rows.find((r) => r.vcpus === v && r.label === label)!;
  const shape = counts.map((v) => {
    const get = (label: string) => at(v, label);
    const [base, noOpt, opt] = [get('no aging'), get('no opt'), get('opt')];
    const [base0, noOpt0, opt0] = [at(first, 'no aging'), at(first, 'no opt'), at(first, 'opt')];
    const over = (a: number | null, b: number | null) => (a === null || b === null ? null : a / b - 1);
    return {
      vcpus: v,
      passRatio: {
        simulated: ratio(noOpt.simulatedPassS, opt.simulatedPassS),
        published: ratio(noOpt.publishedPassS, opt.publishedPassS),
      },
      overheadNoOpt: {
        simulated: noOpt.simulatedWallS / base.simulatedWallS - 1,
        published: over(noOpt.publishedWallS, base.publishedWallS),
      },
      overheadOpt: {
        simulated: opt.simulatedWallS / base.simulatedWallS - 1,
        published: over(opt.publishedWallS, base.publishedWallS),
      },
      growth: {
        wall: {
          simulated: base.simulatedWallS / base0.simulatedWallS,
          published: ratio(base.publishedWallS, base0.publishedWallS),
        },
        perFaultUs: {
          simulated: ((base.simulatedWallS - base0.simulatedWallS) * 1e6) / simulatedPages,
          published:
            base.publishedWallS === null || base0.publishedWallS === null
              ? null
              : ((base.publishedWallS - base0.publishedWallS) * 1e6) / publishedPages,
        },
        passNoOpt: {
          simulated: ratio(noOpt.simulatedPassS, noOpt0.simulatedPassS),
          published: ratio(noOpt.publishedPassS, noOpt0.publishedPassS),
        },
        passOpt: {
          simulated: ratio(opt.simulatedPassS, opt0.simulatedPassS),
          published: ratio(opt.publishedPassS, opt0.publishedPassS),
        },
      },
    };
  });
  const lines = counts.map((v) => {
    const base = t.rows.find((r) => r.vcpus === v && r.kernel === null)!;
    const pages = v * simulatedPages;
    return {
      vcpus: v,
      pages,
      lines: base.lines
        .filter((l) => l.transfers > 0)
        .map((l) => ({
          kind: l.kind,
          accessesPerPage: l.accesses / pages,
          transfersPerPage: l.transfers / pages,
          remoteShare: l.remoteTransfers / l.transfers,
          waitNsPerPage: l.waitNs / pages,
        })),
    };
  });
  const micro =
    o.micro === false
      ? null
      : runMicroValidation({
          ...o.micro,
          jobs: o.jobs,
          onProgress: (done) => o.onProgress?.(tableRuns + done, tableRuns + microRuns),
        });
  return { vcpuBytes: o.vcpuBytes ?? SEED003_BYTES_PER_VCPU, rows, shape, lines, micro };
}

const f9 = (x: number | null) => (x === null ? 'n/a'.padStart(11) : x.toFixed(9).padStart(11));
const pct = (x: number | null) => (x === null ? 'n/a'.padStart(7) : `${(x * 100).toFixed(1)}%`.padStart(7));
const us = (x: number | null) => (x === null ? 'n/a'.padStart(6) : x.toFixed(2).padStart(6));
const rx = (x: number | null) => (x === null ? 'n/a'.padStart(6) : `${x.toFixed(2)}x`.padStart(6));

/** The comparison as text. */
export function formatValidate(v: Validation): string {
  const lines = [
    '# seed 003: access_tracking_perf_test -p -l, published (real hardware) vs simulated (seconds)',
    ...(v.vcpuBytes === SEED003_BYTES_PER_VCPU
      ? []
      : [`# note: simulated with ${v.vcpuBytes} bytes per vCPU; the published runs used 1 GiB`]),
    'vcpus variant    wall: published  simulated  sim/pub | pass: published  simulated  sim/pub',
  ];
  for (const r of v.rows) {
    const wr = r.publishedWallS === null ? null : r.simulatedWallS / r.publishedWallS;
    const pr =
      r.publishedPassS === null || r.simulatedPassS === null ? null : r.simulatedPassS / r.publishedPassS;
    lines.push(
      `${String(r.vcpus).padStart(5)} ${r.label.padEnd(9)} ${f9(r.publishedWallS)} ${f9(r.simulatedWallS)} ${rx(wr)} | ${f9(r.publishedPassS)} ${f9(r.simulatedPassS)} ${rx(pr)}`,
    );
  }
  lines.push(
    '',
    '# shape: aging pass no opt/opt, and wall-time overhead against no aging',
    'vcpus  pass ratio pub/sim   overhead no opt pub/sim   overhead opt pub/sim',
  );
  for (const s of v.shape) {
    lines.push(
      `${String(s.vcpus).padStart(5)}  ${rx(s.passRatio.published)} ${rx(s.passRatio.simulated)}        ${pct(s.overheadNoOpt.published)} ${pct(s.overheadNoOpt.simulated)}           ${pct(s.overheadOpt.published)} ${pct(s.overheadOpt.simulated)}`,
    );
  }
  const first = v.shape.length > 0 ? Math.min(...v.shape.map((s) => s.vcpus)) : 1;
  lines.push(
    '',
    `# growth against ${first} vCPU(s): no-aging wall time, no-opt pass, opt pass; what a fault takes longer (µs)`,
    'vcpus  wall pub/sim         pass no opt pub/sim    pass opt pub/sim    per fault pub/sim',
  );
  for (const s of v.shape) {
    const g = s.growth;
    lines.push(
      `${String(s.vcpus).padStart(5)}  ${rx(g.wall.published)} ${rx(g.wall.simulated)}        ${rx(g.passNoOpt.published)} ${rx(g.passNoOpt.simulated)}          ${rx(g.passOpt.published)} ${rx(g.passOpt.simulated)}     ${us(g.perFaultUs.published)} ${us(g.perFaultUs.simulated)}`,
    );
  }
  lines.push(
    '',
    "# shared lines of the no-aging runs, per page faulted in: accesses, pulls from another CPU's cache",
    '# (perf c2c: HITMs), the share of pulls from the other socket, time waited for the line (ns);',
    '# docs/real-host.md says how to measure them on a real host',
    'vcpus  line                     accesses    pulls  remote  wait ns',
  );
  for (const s of v.lines)
    for (const l of s.lines)
      lines.push(
        `${String(s.vcpus).padStart(5)}  ${l.kind.padEnd(24)} ${l.accessesPerPage.toFixed(3).padStart(8)} ${l.transfersPerPage.toFixed(3).padStart(8)} ${pct(l.remoteShare)} ${l.waitNsPerPage.toFixed(1).padStart(8)}`,
      );
  return `${lines.join('\n')}\n${v.micro === null ? '' : `\n${formatMicroValidation(v.micro)}`}`;
}
