/**
 * Models no kernel file: the published hardware figures of the micro-experiments,
 * references/micro-line-contention.yaml, references/micro-page-fault.yaml and references/micro-pft.yaml, in the shape
 * docs/micro-references.md describes (every row names a machine and a source the file defines).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PAGE_SIZE } from '../../host/page-table.ts';
import { readDataFile } from '../../sim/data-file.ts';
import { OptionsError } from '../access-tracking/options.ts';
import { PAGE_FAULT1_MEMSIZE } from './page-fault.ts';
import { PFT_KERNELS } from './pft.ts';

/** The directory of the reference files (beside src/ and dist/ in the package). */
export const REFERENCES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'references');

const source = z.object({ citation: z.string(), where: z.string(), read: z.string() });
/** Units of a line-contention row: one hand-off of the line, or one thread's time per RMW. */
export const LINE_UNITS = ['ns per hand-off', 'ns per op per thread'] as const;
const machine = z.object({ description: z.string(), generation: z.string() });

/** Every row's machine and source must be defined in the file. */
function definedNames(f: {
  rows: Array<{ machine: string; src: string }>;
  machines: Record<string, unknown>;
  sources: Record<string, unknown>;
}): boolean {
  return f.rows.every((r) => r.machine in f.machines && r.src in f.sources);
}
const UNDEFINED_NAME = { message: 'a row names a machine or source the file does not define' };

/** Schema of references/micro-line-contention.yaml. */
export const lineContentionReference = z
  .object({
    kind: z.literal('micro-line-contention'),
    benchmark: z.object({ operation: z.string(), counted: z.string(), placement: z.string() }),
    rows: z.array(
      z.object({
        threads: z.number().int().min(2),
        placement: z.enum(['same-socket', 'cross-socket', 'smt']),
        value: z.number().positive(),
        unit: z.enum(LINE_UNITS),
        machine: z.string(),
        src: z.string(),
      }),
    ),
    machines: z.record(z.string(), machine),
    /** `benchmark`: what a source measured, where it is not the file's benchmark. */
    sources: z.record(z.string(), source.extend({ benchmark: z.string().optional() })),
  })
  .refine(definedNames, UNDEFINED_NAME);

/** Schema of references/micro-page-fault.yaml. */
export const pageFaultReference = z
  .object({
    kind: z.literal('micro-page-fault'),
    benchmark: z.object({
      loop: z.string(),
      memsizeBytes: z.literal(PAGE_FAULT1_MEMSIZE),
      pagesPerMapping: z.literal(PAGE_FAULT1_MEMSIZE / PAGE_SIZE),
      counted: z.string(),
    }),
    rows: z.array(
      z.object({
        test: z.enum(['page_fault1', 'page_fault2', 'page_fault3']),
        mode: z.enum(['thread', 'process']),
        threads: z.number().int().min(1),
        value: z.number().int().positive(),
        unit: z.literal('pages/s total'),
        perTaskOps: z.number().int().positive().nullable(),
        thp: z.boolean(),
        machine: z.string(),
        src: z.string(),
      }),
    ),
    machines: z.record(z.string(), machine),
    sources: z.record(z.string(), source.extend({ machine: z.string(), kernel: z.string() })),
  })
  .refine(definedNames, UNDEFINED_NAME);

/** Schema of references/micro-pft.yaml. */
export const pftReference = z
  .object({
    kind: z.literal('micro-pft'),
    benchmark: z.object({ loop: z.string(), counted: z.string() }),
    rows: z.array(
      z.object({
        threads: z.number().int().min(1),
        value: z.number().int().positive(),
        unit: z.literal('faults/s total'),
        kernel: z.enum(PFT_KERNELS),
        machine: z.string(),
        src: z.string(),
      }),
    ),
    machines: z.record(z.string(), machine),
    sources: z.record(z.string(), source.extend({ machine: z.string(), kernel: z.string() })),
  })
  .refine(definedNames, UNDEFINED_NAME);

export type LineContentionReference = z.infer<typeof lineContentionReference>;
export type PageFaultReference = z.infer<typeof pageFaultReference>;
export type PftReference = z.infer<typeof pftReference>;

/** Reads references/micro-line-contention.yaml (or `path`); a bad file is one OptionsError line. */
export function loadLineContentionReference(
  path = join(REFERENCES_DIR, 'micro-line-contention.yaml'),
): LineContentionReference {
  return readDataFile(path, 'yaml', lineContentionReference, (m) => new OptionsError(`reference: ${m}`));
}

/** Reads references/micro-page-fault.yaml (or `path`); a bad file is one OptionsError line. */
export function loadPageFaultReference(
  path = join(REFERENCES_DIR, 'micro-page-fault.yaml'),
): PageFaultReference {
  return readDataFile(path, 'yaml', pageFaultReference, (m) => new OptionsError(`reference: ${m}`));
}

/** Reads references/micro-pft.yaml (or `path`); a bad file is one OptionsError line. */
export function loadPftReference(path = join(REFERENCES_DIR, 'micro-pft.yaml')): PftReference {
  return readDataFile(path, 'yaml', pftReference, (m) => new OptionsError(`reference: ${m}`));
}
