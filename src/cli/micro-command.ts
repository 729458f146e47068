import { type Command, Option } from 'commander';
import {
  LINE_PLACEMENTS,
  type LineContentionResult,
  type LinePlacement,
  MicroOptionsError,
  runLineContention,
} from '../experiments/micro/line-contention.ts';
import { SEED003_PROFILE } from '../experiments/published.ts';
import type { CliIo } from './main.ts';
import { UsageError } from './main.ts';

/** The micro-experiments, by name. */
export const MICRO_EXPERIMENTS = ['line-contention'] as const;

function formatLineContention(r: LineContentionResult): string {
  return [
    `# mmulab micro line-contention: ${r.threads} thread(s) doing atomic RMWs on one cache line, simulated`,
    `# profile ${r.profile}, placement ${r.placement}, CPUs ${r.cpus.join(',')}`,
    `rmws                : ${r.rmws}`,
    `elapsed             : ${(r.elapsedNs / 1e9).toFixed(9)}s`,
    `ns per RMW on line  : ${r.nsPerRmw.toFixed(1)} (two threads: one hand-off)`,
    `RMWs per second     : ${Math.round(r.rmwsPerSec)}`,
    `ns per op per thread: ${r.nsPerOpPerThread.toFixed(1)}`,
    `transfers           : ${r.transfers} (${r.remoteTransfers} across sockets)`,
    '',
  ].join('\n');
}

/** `mmulab micro EXPERIMENT --threads N`: micro-experiments that check a profile against hardware. */
export function microCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('micro')
    .description('micro-experiments against published hardware figures (docs/micro-references.md)')
    .argument('<experiment>', `one of: ${MICRO_EXPERIMENTS.join(', ')}`)
    .option('--threads <n>', 'threads (one per CPU)', '2')
    .addOption(
      new Option('--placement <where>', 'where the threads run')
        .choices([...LINE_PLACEMENTS])
        .default('same-socket'),
    )
    .option('--profile <name>', 'cost profile', SEED003_PROFILE)
    .option('--json', 'print the result as JSON', false)
    .action((experiment: string, opts) => {
      if (!(MICRO_EXPERIMENTS as readonly string[]).includes(experiment))
        throw new UsageError(
          `micro: unknown experiment '${experiment}' (known: ${MICRO_EXPERIMENTS.join(', ')})`,
        );
      if (!/^\d+$/.test(opts.threads) || Number(opts.threads) < 1)
        throw new UsageError(`--threads must be a whole number >= 1, not '${opts.threads}'`);
      let r: LineContentionResult;
      try {
        r = runLineContention(
          { threads: Number(opts.threads), placement: opts.placement as LinePlacement },
          opts.profile,
        );
      } catch (e) {
        if (e instanceof MicroOptionsError) throw new UsageError(e.message);
        throw e;
      }
      io.out(opts.json ? `${JSON.stringify({ simulated: true, ...r })}\n` : formatLineContention(r));
      onExit(0);
    });
}
