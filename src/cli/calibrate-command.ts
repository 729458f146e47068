import { basename } from 'node:path';
import type { Command } from 'commander';
import { calibrate, FREE_PARAMETERS, fittedProfileFile } from '../experiments/calibrate.ts';
import { defaultJobs } from '../experiments/parallel.ts';
import { loadReference, SEED003_PROFILE } from '../experiments/published.ts';
import { loadProfile, readProfileFile } from '../sim/profile.ts';
import { intArg } from './args.ts';
import { checkWritable, writeOutput } from './check-writable.ts';
import { UsageError } from './errors.ts';
import type { CliIo } from './main.ts';

/** `mmulab calibrate --reference FILE --profile NAME --out FILE`: fits a profile to reference rows. */
export function calibrateCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('calibrate')
    .description("fit a profile's free parameters to reference rows (seed 003's layout), deterministically")
    .requiredOption('--reference <file>', 'reference rows (YAML or JSON), e.g. references/seed003.yaml')
    .option('--profile <name>', 'profile to start from (profiles/NAME.json)', SEED003_PROFILE)
    .option(
      '-j, --jobs <n>',
      'simulations to run at once (worker threads)',
      intArg('--jobs', 1),
      defaultJobs(),
    )
    .requiredOption('--out <file>', 'where to write the fitted profile (JSON)')
    .option(
      '--params <list>',
      `terms to fit, comma-separated (default: ${FREE_PARAMETERS.map((p) => p.term).join(',')})`,
    )
    .option(
      '--max-evaluations <n>',
      'stop after this many simulations of the reference',
      intArg('--max-evaluations', 1),
      200,
    )
    .action((opts) => {
      checkWritable(opts.out, '--out');
      const reference = loadReference(opts.reference);
      const base = loadProfile(opts.profile);
      let params = FREE_PARAMETERS;
      if (opts.params !== undefined) {
        const names = String(opts.params).split(',');
        const unknown = names.find((n) => !FREE_PARAMETERS.some((p) => p.term === n));
        if (unknown !== undefined)
          throw new UsageError(
            `--params: '${unknown}' is not a free parameter (${FREE_PARAMETERS.map((p) => p.term).join(', ')})`,
          );
        params = FREE_PARAMETERS.filter((p) => names.includes(p.term));
      }
      const { profile, steps } = calibrate({
        reference,
        base,
        params,
        maxEvaluations: opts.maxEvaluations,
        jobs: opts.jobs,
        onStep: (s, n) => io.err(`calibrate: evaluation ${n}: error ${s.error.toFixed(6)}\n`),
      });
      const raw = fittedProfileFile(
        readProfileFile(opts.profile),
        base,
        profile,
        params,
        basename(opts.reference),
      );
      writeOutput(opts.out, `${JSON.stringify(raw, null, 2)}\n`, '--out');
      const best = Math.min(...steps.map((s) => s.error));
      io.out(
        `# mmulab calibrate: ${steps.length} simulations of ${reference.rows.length} rows; error ${steps[0].error.toFixed(6)} -> ${best.toFixed(6)} (mean squared log ratio)\n`,
      );
      for (const p of params)
        io.out(
          `${p.term.padEnd(22)} ${String(base[p.term]).padStart(8)} -> ${String(Math.round(profile[p.term] * 100) / 100).padStart(8)}  [${p.min}, ${p.max}]\n`,
        );
      io.out(`wrote ${opts.out}\n`);
      onExit(0);
    });
}
