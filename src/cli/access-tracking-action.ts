/**
 * `mmulab access-tracking`: runs the selftest and prints as the selftest does, while it runs: the
 * header first, then each stdout line as the simulated test prints it; a failed assertion goes to
 * stderr and exits 254, as lib/assert.c does.
 */
import { formatCounters } from '../experiments/access-tracking/counters.ts';
import { formatAccessTrackingHeader } from '../experiments/access-tracking/format.ts';
import { formatIdleChecks, formatNumaReport } from '../experiments/access-tracking/numa-report.ts';
import {
  type AccessTrackingInput,
  parseAccessTrackingOptions,
} from '../experiments/access-tracking/options.ts';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import { checkRunSize } from '../experiments/access-tracking/run-limits.ts';
import { formatTestAssertion, TEST_ASSERT_EXIT } from '../experiments/access-tracking/test-assert.ts';
import { DEFAULT_AD_POLICY } from '../kvm/ad-policy.ts';
import { loadProfile } from '../sim/profile.ts';
import { formatTimeReport } from '../sim/time-report.ts';
import { Tracer } from '../sim/trace.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';
import { simulatorMemoryLimit } from './limits.ts';
import { openPerfettoFile } from './perfetto-file.ts';
import { startProgress } from './progress.ts';
import { openTraceFile } from './trace-file.ts';

/** The options commander parsed for access-tracking. */
export interface AccessTrackingCliOptions {
  vcpus: number;
  bytes: number;
  overlap: boolean;
  lruGen: boolean;
  benchmark: boolean;
  skipAging: boolean;
  backing: string;
  warnOnly?: string | true;
  kernel: string;
  aging?: 'write-lock' | 'lockless';
  eptAd: boolean;
  mmu: 'tdp' | 'shadow';
  randomAccess: boolean;
  seed: number;
  profile: string;
  hostCpus?: number;
  hostMemory?: number;
  swap: number;
  numaBalancing?: string;
  numaScanDelay?: number;
  numaScanPeriodMin?: number;
  numaScanPeriodMax?: number;
  numaScanSize?: number;
  adPolicy?: string;
  numaMove: boolean;
  selftestVersion: 'mainline' | 'v4-series';
  trace?: string;
  perfetto?: string;
  perfettoWindow?: string;
  json: boolean;
  counters: boolean;
  profileReport: boolean;
}

/**
 * -w as mainline takes it (atoi_non_negative: >0 warn only, 0 fail); a bare -w (mmulab's older
 * form) warns. Not given: the test's auto mode.
 */
function warnOnlyOf(w: string | true | undefined): boolean | undefined {
  if (w === undefined) return undefined;
  if (w === true) return true;
  if (!/^\d+$/.test(w)) throw new UsageError(`-w takes a whole number >= 0, not '${w}'`);
  return Number(w) > 0;
}

function numaBalancingOf(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v !== '0' && v !== '1') throw new UsageError(`--numa-balancing takes 0 or 1, not '${v}'`);
  return v === '1';
}

/** The tracer feeding --trace and --perfetto (one Tracer, the Perfetto writer as its sink). */
function openTracer(opts: AccessTrackingCliOptions): Tracer | null {
  const trace = opts.trace;
  const sink = opts.perfetto === undefined ? undefined : openPerfettoFile(opts.perfetto, opts.perfettoWindow);
  if (trace !== undefined) return openTraceFile(trace, sink);
  return sink === undefined ? null : new Tracer({ sink });
}

/** Runs access-tracking for the CLI. */
export function accessTrackingAction(
  opts: AccessTrackingCliOptions,
  io: CliIo,
  onExit: (code: number) => void,
): void {
  const input: AccessTrackingInput = {
    vcpus: opts.vcpus,
    vcpuBytes: opts.bytes,
    overlap: opts.overlap,
    lruGen: opts.lruGen,
    benchmark: opts.benchmark,
    benchmarkAging: !opts.skipAging,
    backing: opts.backing,
    warnOnly: warnOnlyOf(opts.warnOnly),
    numaBalancing: numaBalancingOf(opts.numaBalancing),
    selftestVersion: opts.selftestVersion,
    kernel: opts.kernel,
    aging: opts.aging,
    eptAd: opts.eptAd,
    mmu: opts.mmu,
    randomAccess: opts.randomAccess,
    seed: opts.seed,
    hostCpus: opts.hostCpus,
    hostMemoryBytes: opts.hostMemory,
    swapBytes: opts.swap,
    adPolicy: opts.adPolicy,
    numaMoveVcpus: opts.numaMove,
    ...(opts.numaScanDelay === undefined ? {} : { numaScanDelayMs: opts.numaScanDelay }),
    ...(opts.numaScanPeriodMin === undefined ? {} : { numaScanPeriodMinMs: opts.numaScanPeriodMin }),
    ...(opts.numaScanPeriodMax === undefined ? {} : { numaScanPeriodMaxMs: opts.numaScanPeriodMax }),
    ...(opts.numaScanSize === undefined ? {} : { numaScanSizeMb: opts.numaScanSize }),
  };
  if (opts.skipAging && !opts.benchmark) throw new UsageError('--skip-aging needs -p (--benchmark)');
  const o = parseAccessTrackingOptions(input);
  const profile = loadProfile(opts.profile);
  checkRunSize({ ...o, lruGen: o.lruGen || o.benchmark, memoryLimitBytes: simulatorMemoryLimit() }, profile);
  if (opts.perfettoWindow !== undefined && opts.perfetto === undefined)
    throw new UsageError('--perfetto-window needs --perfetto FILE');
  const tracer = openTracer(opts);
  const bar = startProgress('access-tracking', 'pages', { sim: true });
  const stream = !opts.json;
  if (stream) io.out(formatAccessTrackingHeader(o, profile.name));
  let r: ReturnType<typeof runAccessTracking>;
  try {
    r = runAccessTracking(input, profile, tracer, {
      onLine: stream ? (line) => bar.print(() => io.out(`${line}\n`)) : undefined,
      onProgress: (p) => bar.update(p.done, p.total, p.simNs),
    });
  } finally {
    bar.stop();
  }
  if (opts.json) {
    const phases = r.phases.map((p) => ({ name: p.name, ns: p.ns, seconds: p.ns / 1e9 }));
    io.out(`${JSON.stringify({ ...r, phases, simulated: true })}\n`);
  } else {
    if (r.numa !== null) {
      const policy = o.adPolicy ?? DEFAULT_AD_POLICY;
      const lines = [
        ...formatNumaReport(r.numa),
        '',
        ...formatIdleChecks({ ...r, numaPhases: r.numa.phases }, policy),
      ];
      io.out(`${lines.join('\n')}\n`);
    }
    if (opts.counters) io.out(`\n# counters\n${formatCounters(r.counters)}`);
  }
  if (opts.profileReport && !opts.json) io.out(`${formatTimeReport(r.time)}\n`);
  if (r.assertion !== null && !opts.json) io.err(formatTestAssertion(r.assertion));
  onExit(r.assertion === null ? 0 : TEST_ASSERT_EXIT);
}
