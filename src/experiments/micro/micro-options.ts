/**
 * Models no kernel file: what the micro fault and line experiments accept from a user (task counts,
 * mapping sizes), checked before anything is simulated.
 */
import { PAGE_SIZE } from '../../host/page-table.ts';
import type { CostProfile } from '../../sim/profile.ts';
import { profileCpus } from '../../sim/topology.ts';

/** A bad micro-experiment request (exit 2 at the CLI). */
export class MicroOptionsError extends Error {
  readonly code = 'MMULAB_BAD_MICRO';
}

/** A task count of the micro experiments: whole, at least one, at most one per CPU. */
export function checkThreadCount(p: CostProfile, threads: number): void {
  const cpus = profileCpus(p);
  if (!Number.isInteger(threads) || threads < 1)
    throw new MicroOptionsError(`--threads must be a whole number >= 1, not ${threads}`);
  if (threads > cpus) throw new MicroOptionsError(`--threads ${threads}: profile ${p.name} has ${cpus} CPUs`);
}

/** A mapping size of the micro fault experiments: whole 4 KiB pages, at least one. */
export function checkMemsize(memsize: number): void {
  if (!Number.isInteger(memsize) || memsize < PAGE_SIZE || memsize % PAGE_SIZE !== 0)
    throw new MicroOptionsError(
      `--memsize must be a positive multiple of the 4 KiB page size, not ${memsize}`,
    );
}
