/** Models no kernel file: `mmulab memslot-modification-stress`, a thin CLI over src/experiments/memslot-stress/. */
import { type Command, Option } from 'commander';
import { checkRunSize } from '../experiments/access-tracking/run-limits.ts';
import { formatMemslotStress } from '../experiments/memslot-stress/format.ts';
import {
  MEMSLOT_STRESS_DEFAULTS,
  MemslotStressOptionsError,
  resolveMemslotStressOptions,
} from '../experiments/memslot-stress/options.ts';
import { runMemslotModificationStress } from '../experiments/memslot-stress/run.ts';
import { DEFAULT_PROFILE, loadProfile } from '../sim/profile.ts';
import { UserError } from '../sim/user-error.ts';
import { intArg, PROFILE_HELP, sizeArg, sizeText } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';

/** Registers `memslot-modification-stress` (the selftest's flags: -v -b -d -i -o). */
export function memslotStressCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  const d = MEMSLOT_STRESS_DEFAULTS;
  program
    .command('memslot-modification-stress')
    .description(
      'run the KVM selftest memslot_modification_stress_test: vCPUs run memstress while a memslot is added and deleted',
    )
    .option('-v, --vcpus <n>', 'number of vCPUs', intArg('-v', 1), d.vcpus)
    .addOption(
      new Option('-b, --bytes <size>', 'guest memory accessed by each vCPU (K/M/G suffixes)')
        .argParser(sizeArg)
        .default(d.vcpuBytes, sizeText(d.vcpuBytes)),
    )
    .option(
      '-d, --delay <usec>',
      'delay before each add and delete of the memslot, in usec',
      intArg('-d', 0),
      d.delayUs,
    )
    .option(
      '-i, --iterations <n>',
      'iterations of adding and deleting the memslot',
      intArg('-i', 1),
      d.iterations,
    )
    .option('-o, --overlap', 'overlap guest memory accesses instead of partitioning them per vCPU', false)
    .option('--mmu <mmu>', 'x86 MMU: tdp or shadow', d.mmu)
    .option('--profile <name>', PROFILE_HELP, DEFAULT_PROFILE)
    .option('--json', 'print the result as JSON', false)
    .action((opts) => {
      let o: ReturnType<typeof resolveMemslotStressOptions>;
      try {
        o = resolveMemslotStressOptions({
          vcpus: opts.vcpus,
          vcpuBytes: opts.bytes,
          delayUs: opts.delay,
          iterations: opts.iterations,
          overlap: opts.overlap,
          mmu: opts.mmu,
        });
        checkRunSize(
          {
            vcpus: o.vcpus,
            vcpuBytes: o.vcpuBytes,
            backing: 'anonymous',
            lruGen: false,
            hostCpus: o.vcpus + 1,
          },
          loadProfile(opts.profile),
        );
      } catch (e) {
        if (e instanceof MemslotStressOptionsError || e instanceof UserError) throw new UsageError(e.message);
        throw e;
      }
      if (o.vcpus > 64 || o.iterations > 1_000_000)
        throw new UsageError('memslot-modification-stress: at most 64 vCPUs and 1000000 iterations');
      const r = runMemslotModificationStress(o, opts.profile);
      if (opts.json) io.out(`${JSON.stringify({ simulated: true, ...r })}\n`);
      else io.out(formatMemslotStress(r));
      onExit(0);
    });
}
