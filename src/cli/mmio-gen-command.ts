/** Models no kernel file: `mmulab mmio-gen`, a thin CLI over src/experiments/mmio-gen/. */
import type { Command } from 'commander';
import { formatMmioGen, formatMmioGenSweep } from '../experiments/mmio-gen/format.ts';
import { MMIO_GEN_DEFAULTS, resolveMmioGenOptions } from '../experiments/mmio-gen/options.ts';
import { runMmioGenAll } from '../experiments/mmio-gen/run.ts';
import { MMIO_ZAP_STRATEGIES } from '../kvm/x86/mmio-zap-strategies.ts';
import { UserError } from '../sim/user-error.ts';
import { intArg, listArg, sizeArg } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';

/** Registers `mmio-gen`. */
export function mmioGenCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('mmio-gen')
    .description('memslot churn that wraps the MMIO generation: the wraparound zap strategies of seed 001')
    .option(
      '--strategy <names>',
      `comma-separated, or all (the MMU's): ${MMIO_ZAP_STRATEGIES.map((s) => s.name).join(', ')}`,
    )
    .option('--mmu <mmu>', 'x86 MMU: tdp or shadow', MMIO_GEN_DEFAULTS.mmu)
    .option(
      '--rate <n>',
      `memslot updates per simulated second (default: the scenario's, else ${MMIO_GEN_DEFAULTS.rate})`,
    )
    .option(
      '--scenario <file>',
      'YAML or JSON file: memslots (slot, gpa, size, toggle) beside the memstress VM, optionally rate and strategy',
    )
    .option('--updates <n>', 'memslot updates in total', intArg('--updates', 1), MMIO_GEN_DEFAULTS.updates)
    .option(
      '--start-gen <start>',
      'hack (i * 2 - 150: wraps early) or as-id (today)',
      MMIO_GEN_DEFAULTS.startGen,
    )
    .option(
      '--pages <n>',
      'MMIO gfns the guest touches (one per GiB)',
      intArg('--pages', 1),
      MMIO_GEN_DEFAULTS.pages,
    )
    .option(
      '--sweep-pages <list>',
      'run each strategy at each number of MMIO pages',
      listArg('--sweep-pages'),
    )
    .option('-v, --vcpus <n>', 'number of vCPUs', intArg('-v', 1), MMIO_GEN_DEFAULTS.vcpus)
    .option('-b, --bytes <size>', 'guest RAM per vCPU', sizeArg, MMIO_GEN_DEFAULTS.vcpuBytes)
    .option('--json', 'print the results as JSON', false)
    .action((opts) => {
      let o: ReturnType<typeof resolveMmioGenOptions>;
      try {
        o = resolveMmioGenOptions({ ...opts, vcpuBytes: opts.bytes });
      } catch (e) {
        if (e instanceof UserError) throw new UsageError(e.message);
        throw e;
      }
      if (o.vcpus > 64 || o.vcpuBytes > 2 ** 30 || Math.max(o.pages, ...(o.sweepPages ?? [])) > 65536)
        throw new UsageError('mmio-gen: at most 64 vCPUs, 1G per vCPU and 65536 MMIO pages');
      const rs = runMmioGenAll(o);
      if (opts.json) io.out(`${JSON.stringify({ simulated: true, results: rs })}\n`);
      else io.out(o.sweepPages === null ? formatMmioGen(o, rs) : formatMmioGenSweep(o, rs));
      onExit(0);
    });
}
