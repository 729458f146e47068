import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { OptionsError } from '../experiments/access-tracking/options.ts';
import { defaultJobs } from '../experiments/parallel.ts';
import { SEED003_PROFILE } from '../experiments/published.ts';
import { describeErrno, parseWriteEscapes, runSysfs } from '../experiments/sysfs.ts';
import { formatTable, runTable, tableCsv } from '../experiments/table.ts';
import { formatValidate, runValidate } from '../experiments/validate.ts';
import { OomKill } from '../host/host.ts';
import { BACKING_KINDS } from '../host/vma.ts';
import { DEFAULT_PROFILE, loadProfile, ProfileError } from '../sim/profile.ts';
import { DEFAULT_KERNEL, KERNEL_VARIANTS } from '../variants/kernel-variant.ts';
import { accessTrackingAction } from './access-tracking-action.ts';
import { calibrateCommand } from './calibrate-command.ts';
import { microCommand } from './micro-command.ts';
import { parseSize } from './parse-size.ts';
import { startProgress } from './progress.ts';
import { variantsCommand } from './variants-command.ts';

/** Where the CLI writes. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** A bad command line; printed as one line, exit status 2. */
export class UsageError extends Error {
  readonly code = 'MMULAB_USAGE';
}

function intArg(name: string, min: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min)
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return Number(v);
  };
}

function sizeArg(v: string): number {
  const n = parseSize(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`invalid size '${v}' (a number with an optional K, M, G or T)`);
  return n;
}

/** Builds the command tree; `run` receives each command's parsed options. */
export function buildProgram(io: CliIo, onExit: (code: number) => void): Command {
  const program = new Command('mmulab')
    .description('Deterministic model of how a Linux host manages guest memory under KVM')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showSuggestionAfterError(false);

  program
    .command('access-tracking')
    .description('run the KVM selftest access_tracking_perf_test (page_idle mode) on the model')
    .option('-v, --vcpus <n>', 'number of vCPUs', intArg('-v', 1), 1)
    .option('-b, --bytes <size>', 'guest memory per vCPU (K/M/G suffixes)', sizeArg, 2 ** 30)
    .option('-o, --overlap', 'all vCPUs access one shared region; vCPU 0 marks it idle', false)
    .option(
      '-l, --lru-gen',
      'mark memory idle with MGLRU aging (debugfs lru_gen) instead of page_idle',
      false,
    )
    .option('-p, --benchmark', 'benchmark MGLRU aging while the vCPUs fault memory in (seed 003)', false)
    .addOption(
      new Option('-s, --backing <type>', 'backing source')
        .choices(BACKING_KINDS as string[])
        .default('anonymous'),
    )
    .option(
      '-w, --warn-only [n]',
      'idle-page checks: >0 (or bare -w) warn only, 0 fail; unset: fail unless NUMA balancing is on',
    )
    .option('--numa-balancing <0|1>', '/proc/sys/kernel/numa_balancing (default: 1 on a multi-node host)')
    .addOption(
      new Option('--selftest-version <v>', "whose -p output conventions to print (v4-series: seed 003's)")
        .choices(['mainline', 'v4-series'])
        .default('mainline'),
    )
    .addOption(
      new Option('--kernel <name>', 'kernel variant to simulate')
        .choices(KERNEL_VARIANTS.map((v) => v.name))
        .default(DEFAULT_KERNEL),
    )
    .addOption(
      new Option('--aging <lock>', "how KVM ages SPTEs (default: the kernel's)").choices([
        'write-lock',
        'lockless',
      ]),
    )
    .option('--no-ept-ad', 'run EPT without Accessed/Dirty bits (access tracking by RWX)')
    .option('--random-access', 'guest touches pages in random order (memstress random_access)', false)
    .option('--seed <n>', 'seed of the simulation', intArg('--seed', 0), 0)
    .option('--profile <name>', 'cost profile (profiles/NAME.json)', DEFAULT_PROFILE)
    .option('--host-cpus <n>', 'host CPUs (default: the profile)', intArg('--host-cpus', 1))
    .option(
      '--host-memory <size>',
      'host RAM (default: enough); with -l, kswapd and direct reclaim keep it within',
      sizeArg,
    )
    .option('--swap <size>', 'swap device size (default: none)', sizeArg, 0)
    .option('--trace <file>', 'write an event trace (JSON lines) to a file')
    .option('--perfetto <file>', 'write a timeline (Chrome JSON trace: ui.perfetto.dev, chrome://tracing)')
    .option('--perfetto-window <start:end>', 'keep only this span of simulated seconds in --perfetto')
    .option('--json', 'print results and counters as one JSON object', false)
    .option('--counters', 'print every counter as a table after the run', false)
    .option(
      '--profile-report',
      'after the output, print where the simulated time went (perf report / c2c style)',
      false,
    )
    .action((opts) => accessTrackingAction(opts, io, onExit));
  program
    .command('table')
    .description("run seed 003's table: access-tracking -p -l with no aging and each kernel, per vCPU count")
    .option('--vcpus <list>', 'vCPU counts, comma-separated', listArg('--vcpus'), [1, 2, 4, 8])
    .option('-b, --bytes <size>', 'guest memory per vCPU (K/M/G suffixes)', sizeArg, 2 ** 30)
    .option('--kernels <list>', 'kernel variants, comma-separated (6.12 = no opt, 6.15 = opt)', '6.12,6.15')
    .option('--seed <n>', 'seed of the simulation', intArg('--seed', 0), 0)
    .option('--profile <name>', 'cost profile (profiles/NAME.json)', SEED003_PROFILE)
    .option(
      '-j, --jobs <n>',
      'simulations to run at once (worker threads)',
      intArg('--jobs', 1),
      defaultJobs(),
    )
    .addOption(new Option('--json', 'print rows and ratios as JSON').conflicts('csv'))
    .option('--csv', 'print the rows as CSV')
    .action((opts) => {
      const kernels = String(opts.kernels)
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k !== '');
      const bar = startProgress('table', 'runs');
      bar.update(0, opts.vcpus.length * (kernels.length + 1));
      let t: ReturnType<typeof runTable>;
      try {
        t = runTable({
          vcpus: opts.vcpus,
          vcpuBytes: opts.bytes,
          kernels,
          seed: opts.seed,
          profile: loadProfile(opts.profile),
          onProgress: (done, total) => bar.update(done, total),
          jobs: opts.jobs,
        });
      } finally {
        bar.stop();
      }
      if (opts.json) io.out(`${JSON.stringify({ simulated: true, ...t })}\n`);
      else if (opts.csv) io.out(tableCsv(t.rows));
      else io.out(formatTable(t, kernels));
      onExit(0);
    });
  sysfsCommand(program, io, onExit);
  calibrateCommand(program, io, onExit);
  microCommand(program, io, onExit);
  variantsCommand(program, io, onExit);
  program
    .command('validate')
    .description("compare simulated runs of seed 003's experiment with the published rows")
    .option('--profile <name>', 'cost profile (profiles/NAME.json)', SEED003_PROFILE)
    .option('--vcpus <list>', 'published vCPU counts to compare', listArg('--vcpus'), [1, 2, 4, 8])
    .option(
      '-j, --jobs <n>',
      'simulations to run at once (worker threads)',
      intArg('--jobs', 1),
      defaultJobs(),
    )
    .option('--predict <list>', 'vCPU counts without published rows to predict', listArg('--predict'), [])
    .option('-b, --bytes <size>', 'guest memory per vCPU (the published runs use 1G)', sizeArg, 2 ** 30)
    .option('--json', 'print rows and shape as JSON', false)
    .action((opts) => {
      const bar = startProgress('validate', 'runs');
      bar.update(0, (opts.vcpus.length + opts.predict.length) * 3);
      let v: ReturnType<typeof runValidate>;
      try {
        v = runValidate({
          vcpus: opts.vcpus,
          predict: opts.predict,
          vcpuBytes: opts.bytes,
          profile: loadProfile(opts.profile),
          onProgress: (done, total) => bar.update(done, total),
          jobs: opts.jobs,
        });
      } finally {
        bar.stop();
      }
      io.out(opts.json ? `${JSON.stringify({ simulated: true, ...v })}\n` : formatValidate(v));
      onExit(0);
    });
  return program;
}

function sysfsCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('sysfs')
    .description('read (or write) a simulated kernel file of a small MGLRU scenario')
    .argument('<path>', 'file path, e.g. /sys/kernel/debug/lru_gen')
    .option('--write <text>', 'write TEXT (escapes \\n \\t \\r \\0 \\\\ \\xHH) instead of reading')
    .addOption(
      new Option('--kernel <name>', 'kernel variant')
        .choices(KERNEL_VARIANTS.map((v) => v.name))
        .default(DEFAULT_KERNEL),
    )
    .option('-v, --vcpus <n>', 'vCPUs of the scenario', intArg('-v', 1), 1)
    .option('-b, --bytes <size>', 'guest memory per vCPU', sizeArg, 64 * 2 ** 20)
    .action((path: string, opts) => {
      const write = opts.write === undefined ? undefined : parseWriteEscapes(String(opts.write));
      const r = runSysfs({ path, write, kernel: opts.kernel, vcpus: opts.vcpus, vcpuBytes: opts.bytes });
      if (r.ret < 0) {
        const known = r.ret === -2 ? ` (files: ${r.files.join(', ')})` : '';
        io.err(
          `mmulab: ${write === undefined ? 'read' : 'write'} ${path}: ${describeErrno(r.ret)}${known}\n`,
        );
        onExit(1);
        return;
      }
      io.out(write === undefined ? (r.text ?? '') : `wrote ${r.ret} bytes\n${r.after ?? ''}`);
      onExit(0);
    });
}

function listArg(name: string): (v: string) => number[] {
  return (v) => {
    const xs = v.split(',').map((s) => s.trim());
    if (xs.some((x) => !/^\d+$/.test(x) || Number(x) < 1))
      throw new InvalidArgumentError(`${name} takes whole numbers >= 1, comma-separated`);
    return xs.map(Number);
  };
}

/** Runs the CLI on `argv` (without node and script) and returns the exit status. */
export function main(argv: string[], io: CliIo): number {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    program.parse(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      io.err(`mmulab: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    if (e instanceof UsageError || e instanceof OptionsError || e instanceof ProfileError) {
      io.err(`mmulab: ${e.message}\n`);
      return 2;
    }
    if (e instanceof OomKill) {
      // The simulated kernel killed the selftest, as a real one would: a failed run, not a crash.
      io.err(`mmulab: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
