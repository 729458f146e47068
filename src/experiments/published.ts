/**
 * Models no kernel file: the published measurements of seed 003 (references/seed003.yaml)
 * that simulated runs are compared with.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readDataFile } from '../sim/data-file.ts';
import { OptionsError } from './access-tracking/options.ts';

/**
 * Published measurements mmulab is compared with (../shared/reference/published-results.md, from
 * seed 003's cover letter: `access_tracking_perf_test -p -l -b 1G -v N` on x86 with the TDP MMU,
 * THP off). Seconds of wall time on real hardware.
 */
export interface PublishedRow {
  vcpus: number;
  /** 'no aging', 'no opt' (write-locked KVM aging, Linux 6.12) or 'opt' (lockless, 6.15). */
  label: 'no aging' | 'no opt' | 'opt';
  vcpuWallS: number;
  /** Mean aging pass, null for 'no aging'. */
  agingPassS: number | null;
}

/** references/seed003.yaml: seed 003's rows for 1 to 8 vCPUs (the larger ones are held out). */
export const SEED003_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'references',
  'seed003.yaml',
);

const referenceFile = z.object({
  /** Guest memory per vCPU of every row, bytes. */
  vcpuBytes: z.number().int().positive(),
  rows: z
    .array(
      z.object({
        vcpus: z.number().int().min(1),
        label: z.enum(['no aging', 'no opt', 'opt']),
        vcpuWallS: z.number().positive(),
        agingPassS: z.number().positive().nullable(),
      }),
    )
    .min(1),
});

/** Reference measurements: seed 003's layout (no aging; no opt = 6.12; opt = 6.15). */
export type Reference = z.infer<typeof referenceFile>;

/**
 * Reads a reference file (YAML, or JSON when it ends in .json); OptionsError names the file, line
 * and field of what is wrong.
 */
export function loadReference(path: string): Reference {
  const format = path.endsWith('.json') ? 'json' : 'yaml';
  return readDataFile(path, format, referenceFile, (m) => new OptionsError(`--reference: ${m}`));
}

const seed003 = loadReference(SEED003_FILE);
/** Seed 003's published rows and their guest memory per vCPU, read from references/seed003.yaml. */
export const SEED003_ROWS: readonly PublishedRow[] = seed003.rows;
export const SEED003_BYTES_PER_VCPU = seed003.vcpuBytes;

/** The profile of the machine seed 003 ran on, used by table, validate and calibrate by default. */
export const SEED003_PROFILE = 'seed003-x86';
