/** Models no kernel file: `mmulab memslot-perf`, a thin CLI over src/experiments/memslot-perf/. */
import type { Command } from 'commander';
import {
  MemslotPerfOptionsError,
  NTESTS,
  resolveMemslotPerfOptions,
  TESTS,
} from '../experiments/memslot-perf/options.ts';
import { runMemslotPerf } from '../experiments/memslot-perf/run.ts';
import { DEFAULT_PROFILE, loadProfile } from '../sim/profile.ts';
import { UserError } from '../sim/user-error.ts';
import { intArg, PROFILE_HELP } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';

/** Simulated seconds a run may ask for in all (tests x runs x length): about a minute of wall time each. */
const MAX_SIMULATED_SECONDS = 60;

/** -s: a whole number, or -1 for no cap (atoi_paranoid; the range is checked with the other options). */
function slotsArg(v: string): number {
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`-s must be a whole number or -1, not '${v}'`);
  return Number(v);
}

/** Registers `memslot-perf` (memslot_perf_test's flags: -v -d -q -s -f -e -l -r). */
export function memslotPerfCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('memslot-perf')
    .description(
      `run the KVM selftest memslot_perf_test on the model; tests: ${TESTS.map((t, i) => `${i}: ${t.name}`).join(', ')}`,
    )
    .option('-v, --verbose', 'enable verbose mode (not for benchmarking)', false)
    .option('-d, --debug', 'enable extra debug checks (the guest-written values read back)', false)
    .option(
      '-q, --no-slot-zap-quirk',
      'disable the memslot zap quirk during memslot move (zap only the slot)',
    )
    .option('-s, --slots <n>', 'memslot count cap (-1 means no cap)', slotsArg, -1)
    .option('-f, --first <n>', `the first test to run (max ${NTESTS - 1})`, intArg('-f', 0), 0)
    .option('-e, --last <n>', `the last test to run (max ${NTESTS - 1})`, intArg('-e', 0), NTESTS - 1)
    .option('-l, --length <s>', 'test length in simulated seconds', intArg('-l', 0), 5)
    .option('-r, --runs <n>', 'number of runs per test', intArg('-r', 1), 1)
    .option('--mmu <mmu>', 'x86 MMU: tdp or shadow', 'tdp')
    .option('--profile <name>', PROFILE_HELP, DEFAULT_PROFILE)
    .option('--json', 'print the result as JSON', false)
    .action((opts) => {
      let o: ReturnType<typeof resolveMemslotPerfOptions>;
      try {
        o = resolveMemslotPerfOptions({
          tfirst: opts.first,
          tlast: opts.last,
          slots: opts.slots,
          seconds: opts.length,
          runs: opts.runs,
          verbose: opts.verbose,
          verify: opts.debug,
          noSlotZapQuirk: !opts.slotZapQuirk,
          mmu: opts.mmu,
        });
        loadProfile(opts.profile);
      } catch (e) {
        if (e instanceof MemslotPerfOptionsError || e instanceof UserError) throw new UsageError(e.message);
        throw e;
      }
      if ((o.tlast - o.tfirst + 1) * o.runs * o.seconds > MAX_SIMULATED_SECONDS)
        throw new UsageError(
          `memslot-perf: at most ${MAX_SIMULATED_SECONDS} simulated seconds in all (tests x -r x -l)`,
        );
      const r = runMemslotPerf(o, opts.profile);
      if (opts.json) io.out(`${JSON.stringify({ simulated: true, ...r })}\n`);
      else io.out(`${r.stdout.join('\n')}\n`);
      onExit(0);
    });
}
