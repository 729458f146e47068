/** Models tools/testing/selftests/kvm/lib/lru_gen_util.c: lru_gen_usable, lru_gen_read_memcg_stats, lru_gen_do_aging; find_generation of access_tracking_perf_test.c. */
import type { Vfs } from '../../fs/vfs.ts';
import { LRU_GEN_DEBUGFS } from '../../reclaim/mglru/debugfs.ts';
import { LRU_GEN_ENABLED } from '../../reclaim/mglru/sysfs.ts';
import type { SimThread } from '../../sim/thread.ts';
import { findGeneration, type MemcgStats, ParseError, parseMemcgStats } from './lru-gen-util.ts';
import { ASSERT_SITES, TestFailure } from './test-assert.ts';

export { TestFailure } from './test-assert.ts';

type Gen<R> = Generator<void, R, void>;

/** TEST_MEMCG_NAME of the selftest. */
export const TEST_MEMCG_NAME = 'access_tracking_perf_test';

const dec = new TextDecoder();
const enc = new TextEncoder();

/**
 * lru_gen_usable: read 7 bytes of /sys/kernel/mm/lru_gen/enabled and require the core and mm-walk
 * caps (0x1 | 0x2). Prints what the selftest prints when they are missing.
 */
export function* lruGenUsable(t: SimThread, vfs: Vfs, print: (line: string) => void): Gen<boolean> {
  const b = yield* vfs.pread(t, LRU_GEN_ENABLED, 0, 7);
  if (typeof b === 'number' || b.length < 7) {
    print(
      typeof b === 'number'
        ? `lru_gen: Could not open ${LRU_GEN_ENABLED}`
        : `lru_gen: Could not read from ${LRU_GEN_ENABLED}`,
    );
    return false;
  }
  const features = Number.parseInt(dec.decode(b), 16);
  const required = 0x1 | 0x2;
  if ((features & required) !== required) {
    print(`lru_gen: missing features, got: 0x${features.toString(16)}, expected: 0x${required.toString(16)}`);
    print(`lru_gen: Try 'echo 0x${required.toString(16)} > /sys/kernel/mm/lru_gen/enabled'`);
    return false;
  }
  return true;
}

/** lru_gen_read_memcg_stats: read the debugfs file and parse the memcg's section. */
export function* lruGenReadMemcgStats(t: SimThread, vfs: Vfs, memcg: string): Gen<MemcgStats> {
  let text = '';
  for (let pos = 0; ; ) {
    const b = yield* vfs.pread(t, LRU_GEN_DEBUGFS, pos, 65536);
    if (typeof b === 'number') throw new TestFailure(`fopen(${LRU_GEN_DEBUGFS}) failed`);
    if (b.length === 0) break;
    text += dec.decode(b);
    pos += b.length;
  }
  try {
    return parseMemcgStats(text, memcg);
  } catch (e) {
    if (e instanceof ParseError) throw new TestFailure(e.message);
    throw e;
  }
}

/**
 * lru_gen_do_aging: read the stats, write "+ memcg_id node max_gen 1 1" for each node (swappiness 1,
 * force_scan), and read them again.
 */
export function* lruGenDoAging(t: SimThread, vfs: Vfs, memcg: string): Gen<MemcgStats> {
  const stats = yield* lruGenReadMemcgStats(t, vfs, memcg);
  for (const node of stats.nodes) {
    const maxGen = node.gens.reduce((m, g) => Math.max(m, g.gen), 0);
    const cmd = enc.encode(`+ ${stats.memcgId} ${node.node} ${maxGen} 1 1\n`);
    const r = yield* vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, cmd);
    if (r < 0) throw new TestFailure(`fclose(${LRU_GEN_DEBUGFS}) failed`);
  }
  return yield* lruGenReadMemcgStats(t, vfs, memcg);
}

/**
 * The selftest's find_generation: a generation holding more than 90% of the test pages; failing
 * that, with warn-only, more than half (after a warning), else the test fails.
 */
export function findTestGeneration(
  stats: MemcgStats,
  totalPages: number,
  warnOnly: boolean,
  print: (line: string) => void,
): number {
  const ninety = Math.floor((totalPages * 9) / 10);
  let gen = findGeneration(stats, ninety);
  if (gen >= 0) return gen;
  if (!warnOnly)
    throw new TestFailure(
      `Could not find a generation with 90% of guest memory (${ninety} pages).`,
      ASSERT_SITES.findGeneration90,
    );
  print(
    "WARNING: Couldn't find a generation with 90% of guest memory. Performance results may not be accurate.",
  );
  const half = Math.floor(totalPages / 2);
  gen = findGeneration(stats, half);
  if (gen < 0)
    throw new TestFailure(
      `Could not find a generation with 50% of guest memory (${half} pages).`,
      ASSERT_SITES.findGeneration50,
    );
  return gen;
}
