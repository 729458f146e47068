/** Models no kernel file: `mmulab faultin`, a thin CLI over src/experiments/faultin/. */
import type { Command } from 'commander';
import {
  FAULTIN_BACKINGS,
  type FaultinBacking,
  faultinBacking,
  faultinPolicy,
  isFileBacking,
} from '../experiments/faultin/faultin-vm.ts';
import { formatFaultin } from '../experiments/faultin/format.ts';
import { runFaultin } from '../experiments/faultin/run.ts';
import { checkFileFitsDisk } from '../experiments/lost-write/options.ts';
import { checkDeviceSize } from '../host/device-mem.ts';
import { AD_POLICIES, type AdPolicyName } from '../kvm/ad-policy.ts';
import type { FaultinWalk } from '../kvm/kvm.ts';
import { sizeArg } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';

/** Largest memslot `faultin` simulates (4 GiB: a million 4 KiB faults per row). */
const MAX_BYTES = 2 ** 32;

const WALKS: readonly FaultinWalk[] = ['gup', 'converged'];

/** Checks a --walk name. */
function faultinWalk(name: string): FaultinWalk {
  const w = WALKS.find((x) => x === name);
  if (w === undefined) throw new UsageError(`faultin: unknown --walk '${name}' (known: gup, converged)`);
  return w;
}

/** Splits a comma-separated list, or `all`, checking each name with `check`. */
function names<T>(v: string, all: readonly T[], check: (name: string) => T): T[] {
  return v === 'all' ? [...all] : v.split(',').map((s) => check(s.trim()));
}

/** Size of the simulated disk that holds the file backings' file, by default (8 GiB). */
const DEFAULT_DISK_BYTES = 2 ** 33;

/** The checks `faultin` makes before simulating: sizes each backing can map, the disk the file needs. */
function checkSize(backing: FaultinBacking, bytes: number, diskBytes: number): void {
  if (bytes % 4096 !== 0) throw new UsageError(`faultin: --bytes ${bytes} is not a multiple of 4096`);
  if (bytes > MAX_BYTES) throw new UsageError(`faultin: --bytes ${bytes} is more than 4G`);
  if (backing === 'thp' || backing === 'hugetlb') {
    if (bytes % (2 << 20) !== 0)
      throw new UsageError(`faultin: ${backing} takes --bytes in whole 2 MiB pages`);
  } else if (backing.startsWith('pfnmap'))
    checkDeviceSize('pfnmap', bytes, backing === 'pfnmap-1g' ? 3 : backing === 'pfnmap-2m' ? 2 : 1);
  else if (backing === 'non-refcounted') checkDeviceSize('non-refcounted', bytes, 1);
  else if (isFileBacking(backing)) checkFileFitsDisk(bytes / 4096, Math.floor(diskBytes / 4096));
}

/** Registers `faultin`. */
export function faultinCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('faultin')
    .description(
      "fault a memslot in from each backing under each accessed/dirty policy (seed 002's references)",
    )
    .option('--backing <names>', `comma-separated, or all: ${FAULTIN_BACKINGS.join(', ')}`, 'all')
    .option(
      '--variant <names>',
      `comma-separated, or all: ${AD_POLICIES.map((p) => p.name).join(', ')}`,
      'all',
    )
    .option('-b, --bytes <size>', 'guest memory in the memslot', sizeArg, 2 ** 30)
    .option(
      '--disk <size>',
      'the simulated disk holding the file and shmem backings',
      sizeArg,
      DEFAULT_DISK_BYTES,
    )
    .option('--walk <names>', 'fault-in lookup, comma-separated, or all: gup, converged', 'gup')
    .option('--populate [how]', 'the VMM populates the mapping before KVM_RUN: write (prealloc) or read')
    .option('--read', 'the guest reads each page instead of writing it', false)
    .option('--mmu <mmu>', 'x86 MMU: tdp or shadow', 'tdp')
    .option('--json', 'print the results as JSON', false)
    .action((opts) => {
      const backings = names(opts.backing as string, FAULTIN_BACKINGS, faultinBacking);
      const variants = names<AdPolicyName>(
        opts.variant as string,
        AD_POLICIES.map((p) => p.name),
        (n) => faultinPolicy(n).name,
      );
      const walks = names(opts.walk as string, WALKS, faultinWalk);
      const populate = opts.populate === undefined ? null : opts.populate === true ? 'write' : opts.populate;
      if (populate !== null && populate !== 'write' && populate !== 'read')
        throw new UsageError(`faultin: unknown --populate '${populate}' (write or read)`);
      if (opts.mmu !== 'tdp' && opts.mmu !== 'shadow')
        throw new UsageError(`faultin: unknown --mmu '${opts.mmu}' (tdp or shadow)`);
      for (const b of backings) checkSize(b, opts.bytes, opts.disk);
      const rs = backings.flatMap((backing) =>
        variants.flatMap((variant) =>
          walks.map((walk) =>
            runFaultin({
              backing,
              variant,
              bytes: opts.bytes,
              write: !opts.read,
              tdpMmu: opts.mmu === 'tdp',
              walk,
              populate,
            }),
          ),
        ),
      );
      if (opts.json) io.out(`${JSON.stringify({ simulated: true, results: rs })}\n`);
      else io.out(formatFaultin(rs, !opts.read, opts.mmu));
      onExit(0);
    });
}
