// Benchmark of the MMU correctness oracle (not a test): ORACLE_BENCH_RUNS random interleavings
// (fast-check seed 1, up to 30 commands each) per MMU and wraparound strategy, with the memslot
// generation starting at -150 so that wraps happen; every invariant is checked after every command.
// Prints, per configuration, the interleavings run, wraps, emulated MMIO accesses, violations and the
// wall time. Usage: npx tsx bench/mmu-oracle.bench.ts [runs]
import fc from 'fast-check';
import type { MmioZapStrategy } from '../src/kvm/x86/mmio-gen.ts';
import { MMIO_ZAP_STRATEGIES } from '../src/kvm/x86/mmio-zap-strategies.ts';
import { runInterleaving } from '../src/testing/mmu-oracle.ts';
import { oracleCommand } from '../src/testing/oracle-commands.ts';

/** Interleavings per MMU and strategy (the final check). */
const ORACLE_BENCH_RUNS = 10_000;
const runs = Number(process.argv[2] ?? ORACLE_BENCH_RUNS);

/** Every named wraparound strategy (src/kvm/x86/mmio-zap-strategies.ts), on each MMU it runs on. */
function strategies(tdpMmu: boolean): [string, MmioZapStrategy][] {
  return MMIO_ZAP_STRATEGIES.filter((v) => !tdpMmu || v.tdp).map((v) => [
    v.name,
    (t, kvm) => v.zap(t, kvm, { pagesVisited: 0, restarts: 0 }),
  ]);
}

for (const tdpMmu of [true, false]) {
  for (const [name, zap] of strategies(tdpMmu)) {
    const total = { wraps: 0, mmioExits: 0, violations: 0 };
    const t0 = performance.now();
    const details = fc.check(
      fc.property(fc.array(oracleCommand, { maxLength: 30 }), (cmds) => {
        const r = runInterleaving({ tdpMmu, mmioGen: { kernel: 'v5.1', start: 'minus-150' }, zap }, cmds);
        total.wraps += r.wraps;
        total.mmioExits += r.mmioExits;
        if (r.violation !== null) total.violations++;
        return r.violation === null;
      }),
      { numRuns: runs, seed: 1 },
    );
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    const mmu = tdpMmu ? 'tdp' : 'shadow';
    console.log(
      `${mmu} ${name}: ${details.numRuns} interleavings, ${total.wraps} wraps, ${total.mmioExits} MMIO exits, ` +
        `${details.failed ? 'FAILED' : 'no violation'}, ${s} s`,
    );
  }
}
