import { basename } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  CALIBRATE_MICRO_MEMSIZE,
  calibrate,
  FREE_PARAMETERS,
  fittedProfileFile,
} from '../experiments/calibrate.ts';
import { defaultJobs } from '../experiments/parallel.ts';
import { loadReference, SEED003_PROFILE } from '../experiments/published.ts';
import { loadProfile, readProfileFile } from '../sim/profile.ts';
import { intArg } from './args.ts';
import { checkWritable, writeOutput } from './check-writable.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';

/**
 * Wall seconds of one evaluation of references/seed003.yaml with 2 jobs on an otherwise idle 2-CPU
 * machine (30-45 s measured; the upper end). Under heavy load from other work it took 272 s.
 */
const EVALUATION_SECONDS = 45;

/** Evaluations that fit in 15 minutes at EVALUATION_SECONDS each, with a tenth to spare. */
export const DEFAULT_MAX_EVALUATIONS = Math.floor((15 * 60 * 0.9) / EVALUATION_SECONDS);

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
      '--no-micro',
      'score the reference rows only, not also the micro references (references/micro-*.yaml) on profiles that extend --profile (a shipped profile by name; a profile file has none)',
    )
    .option(
      '--max-evaluations <n>',
      `stop after this many simulations of the reference (default ${DEFAULT_MAX_EVALUATIONS}: under 15 minutes on a 2-CPU machine; each takes about ${EVALUATION_SECONDS} s there)`,
      (v) => Number(v),
      DEFAULT_MAX_EVALUATIONS,
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
      if (!Number.isInteger(opts.jobs) || opts.jobs < 1)
        throw new UsageError('--jobs takes a whole number >= 1');
      if (!Number.isInteger(opts.maxEvaluations) || opts.maxEvaluations < 1)
        throw new UsageError('--max-evaluations takes a whole number >= 1');
      // Each evaluation simulates every reference row; the budget is an upper bound (the search
      // may converge sooner).
      const bar = process.stderr.isTTY
        ? new SingleBar(
            {
              stream: process.stderr,
              format:
                'calibrate {bar} {value}/{total} evaluations | best error {best} | wall {duration_formatted} | eta {eta_formatted}',
              etaBuffer: 5,
            },
            Presets.shades_classic,
          )
        : null;
      let bestSoFar = Number.POSITIVE_INFINITY;
      bar?.start(opts.maxEvaluations, 0, { best: '-' });
      const { profile, steps } = calibrate({
        reference,
        base,
        params,
        maxEvaluations: opts.maxEvaluations,
        jobs: opts.jobs,
        micro: opts.micro ? { memsize: CALIBRATE_MICRO_MEMSIZE } : null,
        onStep: (s, n) => {
          bestSoFar = Math.min(bestSoFar, s.error);
          // On a terminal the bar says it all (with wall time and an estimate); else one line each.
          if (bar === null)
            io.err(`calibrate: evaluation ${n}/${opts.maxEvaluations}: error ${s.error.toFixed(6)}\n`);
          else bar.update(n, { best: bestSoFar.toFixed(6) });
        },
      });
      bar?.stop();
      const raw = fittedProfileFile(
        readProfileFile(opts.profile),
        base,
        profile,
        params,
        opts.micro ? `${basename(opts.reference)} and the micro references` : basename(opts.reference),
      );
      writeOutput(opts.out, `${JSON.stringify(raw, null, 2)}\n`, '--out');
      const best = Math.min(...steps.map((s) => s.error));
      io.out(
        `# mmulab calibrate: ${steps.length} simulations of ${reference.rows.length} rows${opts.micro ? ' and the micro references' : ''}; error ${steps[0].error.toFixed(6)} -> ${best.toFixed(6)} (mean squared log ratio)\n`,
      );
      for (const p of params)
        io.out(
          `${p.term.padEnd(22)} ${String(base[p.term]).padStart(8)} -> ${String(Math.round(profile[p.term] * 100) / 100).padStart(8)}  [${p.min}, ${p.max}]\n`,
        );
      io.out(`wrote ${opts.out}\n`);
      onExit(0);
    });
}
