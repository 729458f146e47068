// Benchmark of the simulator itself (not a test): runs `mmulab access-tracking` and reports wall time,
// engine steps per second, simulated guest pages per second, clear_refs per second and memory per
// simulated page. Usage: npm run bench -- [-v N] [-b SIZE] [--aging write-lock|lockless]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parseSize } from '../src/cli/parse-size.ts';
import { runAccessTracking } from '../src/experiments/access-tracking/run.ts';

interface Measure {
  pages: number;
  wallMs: number;
  maxRssBytes: number;
  steps: number;
  clearRefs: number;
  faults: number;
  simulatedNs: number;
  stateBytes: number;
}

function measure(vcpus: number, bytes: number, aging: 'lockless' | 'write-lock'): Measure {
  const t0 = performance.now();
  const r = runAccessTracking({ vcpus, vcpuBytes: bytes, aging });
  const wallMs = performance.now() - t0;
  return {
    pages: (vcpus * bytes) / 4096,
    wallMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    steps: r.counters.engine.steps,
    clearRefs: r.counters.pageIdle.clearRefs,
    faults: r.counters.kvm.eptViolations,
    simulatedNs: r.phases.reduce((s, p) => s + p.ns, 0),
    stateBytes: r.counters.memory.stateBytes,
  };
}

/** Runs one measurement in a fresh process, so its peak RSS is its own. */
function child(vcpus: number, bytes: number, aging: string): Measure {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      '-v',
      String(vcpus),
      '-b',
      String(bytes),
      '--aging',
      aging,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out) as Measure;
}

const program = new Command('bench')
  .option('-v, --vcpus <n>', 'vCPUs', (v) => Number(v), 16)
  .option('-b, --bytes <size>', 'bytes per vCPU', (v) => parseSize(v), 2 ** 30)
  .option('--aging <lock>', 'write-lock or lockless', 'lockless')
  .option('--child', 'internal: measure once and print JSON')
  .parse();
const o = program.opts();

if (o.child) {
  process.stdout.write(JSON.stringify(measure(o.vcpus, o.bytes, o.aging)));
} else {
  // A small run gives the fixed base; the difference to the big run is the per-page cost.
  const base = child(1, 4 << 20, o.aging);
  const m = child(o.vcpus, o.bytes, o.aging);
  const perPage = (m.maxRssBytes - base.maxRssBytes) / (m.pages - base.pages);
  const s = m.wallMs / 1000;
  const lines = [
    `mmulab access-tracking -v ${o.vcpus} -b ${o.bytes} --aging ${o.aging}`,
    `  guest pages               ${m.pages}`,
    `  wall time                 ${s.toFixed(1)} s`,
    `  simulated time            ${(m.simulatedNs / 1e9).toFixed(3)} s`,
    `  engine steps              ${m.steps} (${Math.round(m.steps / s)} /s)`,
    `  EPT violations            ${m.faults} (${Math.round(m.faults / s)} /s)`,
    `  page_idle rmap walks      ${m.clearRefs} (${Math.round(m.clearRefs / s)} /s)`,
    `  guest pages simulated     ${Math.round((m.pages * 7) / s)} page-phases/s (7 phases)`,
    `  peak RSS                  ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB (base run: ${(base.maxRssBytes / 2 ** 20).toFixed(0)} MiB)`,
    `  bytes per guest page      ${perPage.toFixed(1)} of peak RSS beyond the base run; ${(m.stateBytes / m.pages).toFixed(1)} in per-page state arrays`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
