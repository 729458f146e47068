// Benchmark of the simulator itself (not a test): runs `mmulab access-tracking` and reports wall time,
// engine steps per second, simulated faults per second, page_idle rmap walks or MGLRU aging-walk PTEs
// per second, and memory per simulated page.
// Usage: npm run bench -- [-v N] [-b SIZE] [--aging write-lock|lockless] [--lru-gen [--kernel NAME]]
// [--profile NAME]
// (--lru-gen runs seed 003's benchmark, access-tracking -l -p: aging passes while the vCPUs fault in).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parseSize } from '../src/cli/parse-size.ts';
import { runAccessTracking } from '../src/experiments/access-tracking/run.ts';
import { DEFAULT_PROFILE } from '../src/sim/profile.ts';

interface Measure {
  pages: number;
  wallMs: number;
  maxRssBytes: number;
  steps: number;
  clearRefs: number;
  agingPtes: number;
  agingPasses: number;
  faults: number;
  simulatedNs: number;
  stateBytes: number;
}

interface BenchOptions {
  vcpus: number;
  bytes: number;
  aging: 'lockless' | 'write-lock';
  lruGen: boolean;
  kernel: string;
  profile: string;
}

function measure(o: BenchOptions): Measure {
  const { vcpus, bytes } = o;
  const t0 = performance.now();
  const r = o.lruGen
    ? runAccessTracking(
        { vcpus, vcpuBytes: bytes, lruGen: true, benchmark: true, kernel: o.kernel },
        o.profile,
      )
    : runAccessTracking({ vcpus, vcpuBytes: bytes, aging: o.aging }, o.profile);
  const wallMs = performance.now() - t0;
  return {
    pages: (vcpus * bytes) / 4096,
    wallMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    steps: r.counters.engine.steps,
    clearRefs: r.counters.pageIdle.clearRefs,
    agingPtes: r.counters.lruGen?.mmLeafTotal ?? 0,
    agingPasses: r.counters.lruGen?.agingPasses ?? 0,
    faults: r.counters.kvm.eptViolations,
    simulatedNs: r.benchmark
      ? Math.max(r.benchmark.vcpuWallNs, r.benchmark.agingTotalNs)
      : r.phases.reduce((s, p) => s + p.ns, 0),
    stateBytes: r.counters.memory.stateBytes,
  };
}

/** Runs one measurement in a fresh process, so its peak RSS is its own. */
function child(o: BenchOptions): Measure {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      '-v',
      String(o.vcpus),
      '-b',
      String(o.bytes),
      '--aging',
      o.aging,
      '--kernel',
      o.kernel,
      '--profile',
      o.profile,
      ...(o.lruGen ? ['--lru-gen'] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out) as Measure;
}

const program = new Command('bench')
  .option('-v, --vcpus <n>', 'vCPUs', (v) => Number(v), 16)
  .option('-b, --bytes <size>', 'bytes per vCPU', (v) => parseSize(v), 2 ** 30)
  .option('--aging <lock>', 'write-lock or lockless (page_idle mode)', 'lockless')
  .option('--lru-gen', 'benchmark MGLRU aging while faulting in (access-tracking -l -p)', false)
  .option('--kernel <name>', 'kernel variant for --lru-gen', '6.15')
  .option('--profile <name>', 'cost profile', DEFAULT_PROFILE)
  .option('--child', 'internal: measure once and print JSON')
  .parse();
const o = program.opts() as BenchOptions & { child?: boolean };

if (o.child) {
  process.stdout.write(JSON.stringify(measure(o)));
} else {
  // A small run gives the fixed base; the difference to the big run is the per-page cost.
  const base = child({ ...o, vcpus: 1, bytes: 4 << 20 });
  const m = child(o);
  const perPage = (m.maxRssBytes - base.maxRssBytes) / (m.pages - base.pages);
  const s = m.wallMs / 1000;
  const lines = [
    o.lruGen
      ? `mmulab access-tracking -l -p -v ${o.vcpus} -b ${o.bytes} --kernel ${o.kernel} --profile ${o.profile}`
      : `mmulab access-tracking -v ${o.vcpus} -b ${o.bytes} --aging ${o.aging} --profile ${o.profile}`,
    `  guest pages               ${m.pages}`,
    `  wall time                 ${s.toFixed(1)} s`,
    `  simulated time            ${(m.simulatedNs / 1e9).toFixed(3)} s`,
    `  engine steps              ${m.steps} (${Math.round(m.steps / s)} /s)`,
    `  EPT violations            ${m.faults} (${Math.round(m.faults / s)} /s)`,
    o.lruGen
      ? `  aging-walk PTEs           ${m.agingPtes} in ${m.agingPasses} passes (${Math.round(m.agingPtes / s)} /s)`
      : `  page_idle rmap walks      ${m.clearRefs} (${Math.round(m.clearRefs / s)} /s)`,
    o.lruGen
      ? `  guest pages faulted in    ${Math.round(m.pages / s)} /s`
      : `  guest pages simulated     ${Math.round((m.pages * 7) / s)} page-phases/s (7 phases)`,
    `  peak RSS                  ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB (base run: ${(base.maxRssBytes / 2 ** 20).toFixed(0)} MiB)`,
    `  bytes per guest page      ${perPage.toFixed(1)} of peak RSS beyond the base run; ${(m.stateBytes / m.pages).toFixed(1)} in per-page state arrays`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
