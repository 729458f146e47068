import { Command, Option } from 'commander';
import { X86_MMUS } from '../experiments/access-tracking/options.ts';
import { defaultJobs } from '../experiments/parallel.ts';
import { SEED003_PROFILE } from '../experiments/published.ts';
import { describeErrno, parseWriteEscapes, runSysfs } from '../experiments/sysfs.ts';
import { formatTable, runTable, tableCsv } from '../experiments/table.ts';
import { BACKING_KINDS } from '../host/vma.ts';
import { AD_POLICIES } from '../kvm/ad-policy.ts';
import { DEFAULT_PROFILE, loadProfile } from '../sim/profile.ts';
import { DEFAULT_KERNEL, KERNEL_VARIANTS } from '../variants/kernel-variant.ts';
import { accessTrackingAction } from './access-tracking-action.ts';
import { bytesOption, intArg, PROFILE_HELP, sizeArg, vcpusListOption } from './args.ts';
import { calibrateCommand } from './calibrate-command.ts';
import type { CliIo } from './cli-io.ts';
import { reportError, UsageError } from './errors.ts';
import { faultinCommand } from './faultin-command.ts';
import { formatHexWords, isText } from './hex-words.ts';
import { simulatorMemoryLimit } from './limits.ts';
import { lostWriteCommand } from './lost-write-command.ts';
import { memslotPerfCommand } from './memslot-perf-command.ts';
import { memslotStressCommand } from './memslot-stress-command.ts';
import { microCommand } from './micro-command.ts';
import { mmioGenCommand } from './mmio-gen-command.ts';
import { profilesCommand } from './profiles-command.ts';
import { startProgress } from './progress.ts';
import { validateCommand } from './validate-command.ts';
import { variantsCommand } from './variants-command.ts';
import { packageVersion } from './version.ts';

export type { CliIo } from './cli-io.ts';
export { UsageError } from './errors.ts';

/** Builds the command tree; `run` receives each command's parsed options. */
export function buildProgram(io: CliIo, onExit: (code: number) => void): Command {
  const program = new Command('mmulab')
    .description('Deterministic model of how a Linux host manages guest memory under KVM')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showSuggestionAfterError(false)
    .version(packageVersion(), '-V, --version', 'print the version of mmulab');

  program
    .command('access-tracking')
    .description('run the KVM selftest access_tracking_perf_test (page_idle mode) on the model')
    .option('-v, --vcpus <n>', 'number of vCPUs', intArg('-v', 1), 1)
    .addOption(bytesOption('guest memory per vCPU (K/M/G suffixes)', 2 ** 30))
    .option('-o, --overlap', 'all vCPUs access one shared region; vCPU 0 marks it idle', false)
    .option(
      '-l, --lru-gen',
      'mark memory idle with MGLRU aging (debugfs lru_gen) instead of page_idle',
      false,
    )
    .option('-p, --benchmark', 'benchmark MGLRU aging while the vCPUs fault memory in (seed 003)', false)
    .option(
      '--skip-aging',
      "with -p: let the vCPUs fault their memory in with no aging passes (seed 003's 'no aging' row)",
      false,
    )
    .addOption(
      new Option('-s, --backing <type>', 'backing source')
        .choices(BACKING_KINDS as string[])
        .default('anonymous'),
    )
    .option(
      '-w, --warn-only [n]',
      'idle-page checks: >0 (or bare -w) warn only, 0 fail; unset: fail unless NUMA balancing is on',
    )
    .option(
      '--numa-balancing <0|1>',
      '/proc/sys/kernel/numa_balancing (default: 1 on a multi-node host, read by the test only); 1 simulates the scanner, hinting faults and migrations, with the vCPU threads moved to the next node after populating',
    )
    .option(
      '--no-numa-move',
      'with --numa-balancing 1: leave the vCPU threads on the node where they populated',
    )
    .option(
      '--numa-scan-delay <ms>',
      'numa_balancing scan_delay_ms (default 1000)',
      intArg('--numa-scan-delay', 0),
    )
    .option(
      '--numa-scan-period-min <ms>',
      'numa_balancing scan_period_min_ms (default 1000)',
      intArg('--numa-scan-period-min', 1),
    )
    .option(
      '--numa-scan-period-max <ms>',
      'numa_balancing scan_period_max_ms (default 60000)',
      intArg('--numa-scan-period-max', 1),
    )
    .option(
      '--numa-scan-size <MB>',
      'numa_balancing scan_size_mb (default 256)',
      intArg('--numa-scan-size', 1),
    )
    .addOption(
      new Option('--ad-policy <name>', 'accessed/dirty policy for zapped SPTEs (default 6.13)').choices(
        AD_POLICIES.map((p) => p.name),
      ),
    )
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
    .addOption(mmuOption())
    .option('--random-access', 'guest touches pages in random order (memstress random_access)', false)
    .option('--seed <n>', 'seed of the simulation', intArg('--seed', 0), 0)
    .option('--profile <name>', PROFILE_HELP, DEFAULT_PROFILE)
    .option('--host-cpus <n>', 'host CPUs (default: the profile)', intArg('--host-cpus', 1))
    .option(
      '--host-memory <size>',
      'host RAM (default: enough); with -l, kswapd and direct reclaim keep it within',
      sizeArg,
    )
    .addOption(
      new Option('--swap <size>', 'swap device size (needs --host-memory)')
        .argParser(sizeArg)
        .default(0, 'none'),
    )
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
    .addOption(vcpusListOption('vCPU counts, comma-separated'))
    .addOption(bytesOption('guest memory per vCPU (K/M/G suffixes)', 2 ** 30))
    .option('--kernels <list>', 'kernel variants, comma-separated (6.12 = no opt, 6.15 = opt)', '6.12,6.15')
    .addOption(mmuOption())
    .option('--seed <n>', 'seed of the simulation', intArg('--seed', 0), 0)
    .option(
      '--seeds <n>',
      'runs of each row, with seeds --seed, --seed + 1, ...: print their mean and range',
      intArg('--seeds', 1),
      1,
    )
    .option('--profile <name>', PROFILE_HELP, SEED003_PROFILE)
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
      bar.update(0, opts.vcpus.length * (kernels.length + 1) * opts.seeds);
      let t: ReturnType<typeof runTable>;
      try {
        t = runTable({
          vcpus: opts.vcpus,
          vcpuBytes: opts.bytes,
          kernels,
          seed: opts.seed,
          seeds: opts.seeds,
          profile: loadProfile(opts.profile),
          onProgress: (done, total) => bar.update(done, total),
          jobs: opts.jobs,
          memoryLimitBytes: simulatorMemoryLimit(),
          mmu: opts.mmu,
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
  mmioGenCommand(program, io, onExit);
  lostWriteCommand(program, io, onExit);
  memslotStressCommand(program, io, onExit);
  memslotPerfCommand(program, io, onExit);
  faultinCommand(program, io, onExit);
  variantsCommand(program, io, onExit);
  profilesCommand(program, io, onExit);
  validateCommand(program, io, onExit);
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
    .addOption(bytesOption('guest memory per vCPU', 64 * 2 ** 20))
    .action((path: string, opts) => {
      const write = opts.write === undefined ? undefined : parseWriteEscapes(String(opts.write));
      const r = runSysfs({
        path,
        write,
        kernel: opts.kernel,
        vcpus: opts.vcpus,
        vcpuBytes: opts.bytes,
        memoryLimitBytes: simulatorMemoryLimit(),
      });
      if (r.ret < 0) {
        const known = r.ret === -2 ? ` (files: ${r.files.join(', ')})` : '';
        io.err(
          `mmulab: ${write === undefined ? 'read' : 'write'} ${path}: ${describeErrno(r.ret)}${known}\n`,
        );
        onExit(1);
        return;
      }
      if (write !== undefined) io.out(`wrote ${r.ret} bytes\n${r.after ?? ''}`);
      else if (r.data !== null && !isText(r.data)) io.out(formatHexWords(r.data));
      else io.out(r.text ?? '');
      onExit(0);
    });
}

function mmuOption(): Option {
  return new Option('--mmu <mmu>', 'x86 MMU: tdp (kvm.tdp_mmu=1) or shadow (kvm.tdp_mmu=0)')
    .choices([...X86_MMUS])
    .default('tdp');
}

/** Runs the CLI on `argv` (without node and script) and returns the exit status. */
export function main(argv: string[], io: CliIo): number {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    const [first, second] = argv;
    if (first === 'help' && second !== undefined && !program.commands.some((c) => c.name() === second))
      throw new UsageError(
        `help: unknown command '${second}' (commands: ${program.commands.map((c) => c.name()).join(', ')})`,
      );
    program.parse(argv, { from: 'user' });
    return code;
  } catch (e) {
    return reportError(e, io);
  }
}
