/**
 * Differential fuzzing of every simulated kernel file against the reference of the kernel's rules
 * (src/testing/kernel-file-reference.ts): N inputs per file (default 100,000; argv[2] overrides),
 * deterministic (seed 9). Prints inputs and differences per file; exits 1 if any differ.
 */
import { fuzzTargets } from '../src/testing/kernel-file-fuzz.ts';
import {
  bitmapInput,
  LRU_GEN_PIECES,
  lruGenCommandInput,
  mulberry32,
  pieceInput,
  RECLAIM_PIECES,
  SYSFS_PIECES,
} from '../src/testing/kernel-file-inputs.ts';

const n = Number(process.argv[2] ?? 100_000);
const pieces: Record<string, string[]> = {
  '/sys/kernel/debug/lru_gen': LRU_GEN_PIECES,
  '/sys/kernel/mm/lru_gen/enabled': SYSFS_PIECES,
  '/sys/kernel/mm/lru_gen/min_ttl_ms': SYSFS_PIECES,
  '/sys/fs/cgroup/a/memory.reclaim': RECLAIM_PIECES,
};
let total = 0;
for (const target of fuzzTargets()) {
  const rnd = mulberry32(9);
  let diffs = 0;
  let first = '';
  for (let i = 0; i < n; i++) {
    const p = pieces[target.name];
    const [pos, data] =
      p === undefined
        ? bitmapInput(rnd, 8192)
        : [0, p === LRU_GEN_PIECES && rnd() < 0.5 ? lruGenCommandInput(rnd) : pieceInput(rnd, p)];
    if (!target.check(data, pos)) {
      diffs++;
      first ||= JSON.stringify(String.fromCharCode(...data.subarray(0, 80)));
    }
  }
  total += diffs;
  console.log(
    `${target.name.padEnd(36)} inputs ${n}  differences ${diffs}${first ? `  first: ${first}` : ''}`,
  );
}
process.exit(total === 0 ? 0 : 1);
