/**
 * Checks that every nanosecond cost term of both profiles moves at least one golden figure when it
 * changes by 1 ns, so the golden-time tests catch any such change. Prints the terms that do not
 * (they are charged by no golden run) and exits 1 if there are any. Takes a few minutes:
 *   npx tsx scripts/golden-sensitivity.ts
 */
import { isDeepStrictEqual } from 'node:util';
import { GOLDEN_CONFIGS, goldenRecord } from '../src/experiments/golden-times.ts';
import { COST_TERMS, type CostTerm, loadProfile, withCosts } from '../src/sim/profile.ts';

function figures(profile: ReturnType<typeof loadProfile>, name: string): unknown[] {
  return GOLDEN_CONFIGS.filter((c) => c.profile === name).map((c) => goldenRecord(c, profile));
}

let missed = 0;
for (const name of ['x86-tdp', 'seed003-x86']) {
  const base = loadProfile(name);
  const ref = figures(base, name);
  for (const [term, [unit]] of Object.entries(COST_TERMS)) {
    if (unit !== 'ns') continue;
    const bumped = withCosts(base, { [term]: base[term as CostTerm] + 1 });
    const moved = !isDeepStrictEqual(figures(bumped, name), ref);
    if (!moved) {
      missed++;
      console.log(`${name}: ${term} (+1 ns) changes no golden figure`);
    }
  }
}
console.log(`${missed} term(s) not pinned by the golden runs`);
if (missed > 0) process.exitCode = 1;
