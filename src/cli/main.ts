import { writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { formatAccessTracking } from '../experiments/access-tracking/format.ts';
import { OptionsError } from '../experiments/access-tracking/options.ts';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import { BACKING_KINDS } from '../host/vma.ts';
import { DEFAULT_PROFILE, ProfileError } from '../sim/profile.ts';
import { Tracer } from '../sim/trace.ts';
import { parseSize } from './parse-size.ts';

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
    .addOption(
      new Option('-s, --backing <type>', 'backing source')
        .choices(BACKING_KINDS as string[])
        .default('anonymous'),
    )
    .option('-w, --warn-only [n]', 'warn instead of failing the idle-page checks (0 keeps failing)')
    .addOption(
      new Option('--aging <lock>', 'how KVM ages SPTEs')
        .choices(['write-lock', 'lockless'])
        .default('lockless'),
    )
    .option('--no-ept-ad', 'run EPT without Accessed/Dirty bits (access tracking by RWX)')
    .option('--random-access', 'guest touches pages in random order (memstress random_access)', false)
    .option('--seed <n>', 'seed of the simulation', intArg('--seed', 0), 0)
    .option('--profile <name>', 'cost profile (profiles/NAME.json)', DEFAULT_PROFILE)
    .option('--host-cpus <n>', 'host CPUs (default: the profile)', intArg('--host-cpus', 1))
    .option('--trace <file>', 'write an event trace (JSON lines) to a file')
    .option('--json', 'print results and counters as one JSON object', false)
    .action((opts) => {
      const warn = opts.warnOnly;
      if (warn !== undefined && warn !== true && !/^\d+$/.test(warn))
        throw new UsageError(`-w takes a whole number >= 0, not '${warn}'`);
      const tracer = opts.trace ? new Tracer() : null;
      const r = runAccessTracking(
        {
          vcpus: opts.vcpus,
          vcpuBytes: opts.bytes,
          overlap: opts.overlap,
          lruGen: opts.lruGen,
          backing: opts.backing,
          warnOnly: warn === true || (warn !== undefined && Number(warn) > 0),
          aging: opts.aging,
          eptAd: opts.eptAd,
          randomAccess: opts.randomAccess,
          seed: opts.seed,
          hostCpus: opts.hostCpus,
          memoryLimitBytes: totalmem() * 0.75,
        },
        opts.profile,
        tracer,
      );
      if (tracer !== null) writeFileSync(opts.trace, `${tracer.toJsonLines()}\n`);
      if (opts.json) {
        const phases = r.phases.map((p) => ({ name: p.name, ns: p.ns, seconds: p.ns / 1e9 }));
        io.out(`${JSON.stringify({ ...r, phases, simulated: true })}\n`);
      } else io.out(formatAccessTracking(r));
      onExit(r.failure === null ? 0 : 1);
    });
  return program;
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
    throw e;
  }
}
