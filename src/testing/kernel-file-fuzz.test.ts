import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fuzzTargets } from './kernel-file-fuzz.ts';
import {
  bitmapInput,
  LRU_GEN_PIECES,
  latin1Bytes,
  lruGenCommandInput,
  mulberry32,
  RECLAIM_PIECES,
  SYSFS_PIECES,
} from './kernel-file-inputs.ts';

const PIECES: Record<string, string[]> = {
  '/sys/kernel/debug/lru_gen': LRU_GEN_PIECES,
  '/sys/kernel/mm/lru_gen/enabled': SYSFS_PIECES,
  '/sys/kernel/mm/lru_gen/min_ttl_ms': SYSFS_PIECES,
  '/sys/fs/cgroup/a/memory.reclaim': RECLAIM_PIECES,
};

describe('simulated kernel files against the reference of the kernel rules', () => {
  for (const target of fuzzTargets()) {
    it(`${target.name}: 3000 fuzzed writes agree`, () => {
      const pieces = PIECES[target.name];
      const arb =
        pieces === undefined
          ? fc.integer().map((seed) => bitmapInput(mulberry32(seed), 8192))
          : fc
              .oneof(
                fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((p) => latin1Bytes(p.join(''))),
                fc.uint8Array({ maxLength: 24 }),
                ...(pieces === LRU_GEN_PIECES
                  ? [fc.integer().map((seed) => lruGenCommandInput(mulberry32(seed)))]
                  : []),
              )
              .map((d) => [0, d] as [number, Uint8Array]);
      fc.assert(
        fc.property(arb, ([pos, data]) => target.check(data, pos)),
        { numRuns: 3000, seed: 17 },
      );
    });
  }
});
