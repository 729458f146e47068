/** Models no kernel file: `mmulab lost-write`, a thin CLI over src/experiments/lost-write/. */
import type { Command } from 'commander';
import { runLostWrite } from '../experiments/lost-write/drivers.ts';
import { formatLostWrite } from '../experiments/lost-write/format.ts';
import {
  LOST_WRITE_DEFAULTS,
  LostWriteOptionsError,
  resolveLostWriteOptions,
} from '../experiments/lost-write/options.ts';
import { AD_POLICIES } from '../kvm/ad-policy.ts';
import { intArg } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';

/** Registers `lost-write`. */
export function lostWriteCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('lost-write')
    .description(
      'can a guest write to file-backed memory be lost under each accessed/dirty policy (seed 002)? writeback, reclaim and the vCPU interleaved, with an oracle',
    )
    .option('--policy <names>', `comma-separated, or all: ${AD_POLICIES.map((p) => p.name).join(', ')}`)
    .option('--seeds <n>', 'random mode: seeds 1..n', intArg('--seeds', 1), LOST_WRITE_DEFAULTS.seeds)
    .option('--steps <n>', 'random mode: steps per seed', intArg('--steps', 1), LOST_WRITE_DEFAULTS.steps)
    .option('--systematic', 'every schedule of the first --depth steps instead of random ones', false)
    .option(
      '--depth <n>',
      'systematic mode: steps enumerated',
      intArg('--depth', 1),
      LOST_WRITE_DEFAULTS.depth,
    )
    .option(
      '--pages <n>',
      'pages of the file backing guest memory (default 4; systematic 2)',
      intArg('--pages', 1),
    )
    .option(
      '--disk-pages <n>',
      'pages of the simulated disk',
      intArg('--disk-pages', 1),
      LOST_WRITE_DEFAULTS.diskPages,
    )
    .option('--writenotify <on|off|both>', 'the file mapping wants write notification (page_mkwrite)', 'both')
    .option('--mmu <mmu>', 'x86 MMU: tdp or shadow', LOST_WRITE_DEFAULTS.mmu)
    .option(
      '--ept-ad',
      'EPT A/D bits on (off: aging access-tracks SPTEs, writes take the fast page fault)',
      false,
    )
    .option('--json', 'print the results as JSON', false)
    .action((opts) => {
      let o: ReturnType<typeof resolveLostWriteOptions>;
      try {
        o = resolveLostWriteOptions({ ...opts, eptAd: opts.eptAd });
      } catch (e) {
        if (e instanceof LostWriteOptionsError) throw new UsageError(e.message);
        throw e;
      }
      const rs = runLostWrite(o);
      if (opts.json) io.out(`${JSON.stringify({ simulated: true, results: rs })}\n`);
      else io.out(formatLostWrite(o, rs));
      onExit(0);
    });
}
