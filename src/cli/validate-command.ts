/** Models no kernel file: `mmulab validate`, a thin CLI over `runValidate` (experiments/validate.ts). */
import { type Command, Option } from 'commander';
import { PAGE_FAULT1_MEMSIZE } from '../experiments/micro/page-fault.ts';
import { defaultJobs } from '../experiments/parallel.ts';
import { SEED003_PROFILE } from '../experiments/published.ts';
import { formatValidate, runValidate, type Validation } from '../experiments/validate.ts';
import { loadProfile } from '../sim/profile.ts';
import { bytesOption, intArg, listArg, PROFILE_HELP, sizeArg, sizeText, vcpusListOption } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { simulatorMemoryLimit } from './limits.ts';
import { startProgress } from './progress.ts';

/** `mmulab validate`: seed 003's rows and the micro-experiments, published vs simulated. */
export function validateCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('validate')
    .description(
      "compare simulated runs of seed 003's experiment and the micro-experiments with the published figures",
    )
    .option('--profile <name>', `${PROFILE_HELP} (seed 003's rows only)`, SEED003_PROFILE)
    .addOption(vcpusListOption('published vCPU counts to compare'))
    .option(
      '-j, --jobs <n>',
      'simulations to run at once (worker threads)',
      intArg('--jobs', 1),
      defaultJobs(),
    )
    .addOption(
      new Option('--predict <list>', 'vCPU counts without published rows to predict')
        .argParser(listArg('--predict'))
        .default([], 'none'),
    )
    .addOption(bytesOption('guest memory per vCPU (the published runs use 1G)', 2 ** 30))
    .option(
      '--no-micro',
      'skip the micro-experiment section (each reference machine on its own profile; about a minute with -j 2 on a 2-core machine)',
    )
    .addOption(
      new Option(
        '--micro-memsize <size>',
        'page_fault1 bytes per task in the micro section (published: 128M)',
      )
        .argParser(sizeArg)
        .default(PAGE_FAULT1_MEMSIZE, sizeText(PAGE_FAULT1_MEMSIZE)),
    )
    .option('--json', 'print rows and shape as JSON', false)
    .action((opts) => {
      const bar = startProgress('validate', 'runs');
      bar.update(0, (opts.vcpus.length + opts.predict.length) * 3);
      let v: Validation;
      try {
        v = runValidate({
          vcpus: opts.vcpus,
          predict: opts.predict,
          vcpuBytes: opts.bytes,
          profile: loadProfile(opts.profile),
          onProgress: (done, total) => bar.update(done, total),
          jobs: opts.jobs,
          memoryLimitBytes: simulatorMemoryLimit(),
          micro: opts.micro ? { memsize: opts.microMemsize } : false,
        });
      } finally {
        bar.stop();
      }
      io.out(opts.json ? `${JSON.stringify({ simulated: true, ...v })}\n` : formatValidate(v));
      onExit(0);
    });
}
