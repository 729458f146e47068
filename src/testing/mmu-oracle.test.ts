import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MmioGenOptions, MmioZapStrategy } from '../kvm/x86/mmio-gen.ts';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { vmCreate } from '../vm/vm-builder.ts';
import { MmuOracle, type OracleResult, oracleAccess, runInterleaving } from './mmu-oracle.ts';
import { type OracleCommand, OracleVm, oracleCommand } from './oracle-commands.ts';

/**
 * Interleavings per configuration in this suite (a fast default); bench/mmu-oracle.bench.ts runs
 * ORACLE_BENCH_RUNS (10,000) per MMU and wrap strategy.
 */
const ORACLE_SUITE_RUNS = 150;
/** Commands per interleaving at most. */
const MAX_COMMANDS = 30;

/** A wraparound "strategy" that skips the zap: MMIO SPTEs made before the wrap survive it. */
const skipZap: MmioZapStrategy = function* () {};

/** Runs ORACLE_SUITE_RUNS interleavings (fast-check seed 1); the totals of their counters. */
function checkAll(tdpMmu: boolean, mmioGen: MmioGenOptions, zap?: MmioZapStrategy) {
  const total = { wraps: 0, mmioExits: 0 };
  const details = fc.check(
    fc.property(fc.array(oracleCommand, { maxLength: MAX_COMMANDS }), (cmds) => {
      const r = runInterleaving({ tdpMmu, mmioGen, zap }, cmds);
      total.wraps += r.wraps;
      total.mmioExits += r.mmioExits;
      return r.violation === null;
    }),
    { numRuns: ORACLE_SUITE_RUNS, seed: 1 },
  );
  // The shrunk counterexample, replayed: what the oracle reports on it.
  const cex = details.failed ? (details.counterexample![0] as OracleCommand[]) : [];
  const shrunk: OracleResult | null = details.failed ? runInterleaving({ tdpMmu, mmioGen, zap }, cex) : null;
  return { details, total, cex, shrunk };
}

describe('MMU correctness oracle over random interleavings (zap-all-fast on wrap)', () => {
  for (const [name, tdpMmu, mmioExits] of [
    ['TDP MMU', true, 131],
    ['shadow MMU', false, 131],
  ] as const) {
    it(`${name}: no invariant breaks, generation starting at as_id (no wrap)`, () => {
      const { details, total } = checkAll(tdpMmu, { kernel: 'v5.1', start: 'as-id' });
      expect(details.failed).toBe(false);
      expect(total).toEqual({ wraps: 0, mmioExits });
    });

    it(`${name}: no invariant breaks, generation starting at -150 (wraps happen)`, () => {
      const { details, total } = checkAll(tdpMmu, { kernel: 'v5.1', start: 'minus-150' });
      expect(details.failed).toBe(false);
      expect(total).toEqual({ wraps: 15, mmioExits });
    });
  }
});

describe('MMU correctness oracle on the v4.20 MMIO layout (seed 001)', () => {
  it("catches v4.20's missed wrap in address space 0 (fixed in v5.1 by detecting a wrap in any address space)", () => {
    const { details, cex, shrunk } = checkAll(true, { kernel: 'v4.20', start: 'minus-150' });
    expect(details.failed).toBe(true);
    // An MMIO SPTE made at generation 0xfff72 (-150 + 8 in v4.20's 20 bits); 36 updates of address
    // space 0 carry its generation past zero to 2 without kvm_mmu_invalidate_mmio_sptes zapping.
    expect(cex).toEqual([
      { k: 'access', vcpu: 0, page: 8, write: false },
      { k: 'churn', as: 0, n: 36 },
    ]);
    expect(shrunk?.violation).toEqual({
      id: 'mmio-spte-survived-wrap',
      detail: 'MMIO SPTE 1800 for gfn 0x108 has generation 0xfff72 > 0x2 (as 0)',
    });
  });
});

describe('MMU correctness oracle catches broken wraparound handling', () => {
  it('a wrap strategy that skips the zap (plugged as KvmMmioGen.zap): the MMIO SPTE made at -146 survives the wrap after 73 more updates (shrunk to 4 commands)', () => {
    const { details, cex, shrunk } = checkAll(true, { kernel: 'v5.1', start: 'minus-150' }, skipZap);
    expect(details.failed).toBe(true);
    expect(cex).toEqual([
      { k: 'access', vcpu: 0, page: 8, write: false },
      { k: 'churn', as: 0, n: 18 },
      { k: 'churn', as: 0, n: 7 },
      { k: 'churn', as: 0, n: 48 },
    ]);
    expect(shrunk!.violation).toEqual({
      id: 'mmio-spte-survived-wrap',
      detail: 'MMIO SPTE 1800 for gfn 0x108 has generation 0x7ff6e > 0x0 (as 0)',
    });
    expect(shrunk!.step).toBe(3);
  });
});

describe('MMU correctness oracle: directed checks', () => {
  /** A TDP or shadow VM set up as the oracle's, with `body` run on its thread. */
  function onVm(
    tdpMmu: boolean,
    body: (t: SimThread, vm: OracleVm, oracle: MmuOracle) => Generator<void, void, void>,
  ) {
    const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
    const kvmVm = vmCreate(engine, { hostPages: 4096, aging: 'lockless', eptAd: true, tdpMmu });
    engine.spawn('t', function* (t) {
      const vm = yield* OracleVm.create(t, kvmVm);
      yield* body(t, vm, new MmuOracle(vm.kvm));
    });
    engine.run();
  }

  it('the emulate decision: an access that reached RAM without a memslot, or was emulated over one', () => {
    onVm(true, function* (t, vm, oracle) {
      // A real access to window page 8 (no slot there) is emulated, and the oracle accepts it.
      expect(yield* oracleAccess(t, vm, 0, vm.gfn(8), false)).toBe('mmio');
      expect([oracle.checkAccess(0, vm.gfn(8), 'mmio'), oracle.check()]).toEqual([null, null]);
      expect(oracle.checkAccess(0, vm.gfn(0), 'mmio')?.id).toBe('emulated-covered-gfn');
      expect(oracle.checkAccess(0, vm.gfn(8), 'ram')?.id).toBe('ram-without-memslot');
      expect(oracle.checkAccess(0, vm.gfn(0), 'ram')).toBeNull();
    });
  });
});
