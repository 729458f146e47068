import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvmRunError } from '../../kvm/kvm-run-error.ts';
import { checkSptesMapLivePages } from '../../kvm/x86/spte-page-check.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import {
  addFaultinSlot,
  createFaultinVm,
  FAULTIN_BACKINGS,
  type FaultinBacking,
  type FaultinVm,
  hostZap,
  touchPages,
} from './faultin-vm.ts';

type Op =
  | { kind: 'fault'; page: number; write: boolean }
  | { kind: 'zap'; page: number; n: number }
  | { kind: 'unmap' };

const PAGES = 1024;

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      page: fc.nat(PAGES - 1),
      write: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('zap' as const),
      page: fc.nat(PAGES - 1),
      n: fc.integer({ min: 1, max: 700 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unmap' as const) }) },
);

interface Outcome {
  /** Refcount errors, negative counts and SPTEs mapping freed frames, after each step. */
  violations: string[];
  runErrors: number;
  orphansLeft: number;
}

/** Runs `ops` on a fresh VM and checks the invariants after each. */
function runOps(
  backing: FaultinBacking,
  variant: 'pre-6.13' | '6.13' | 'stevens-v11',
  ops: Op[],
  tdpMmu: boolean,
): Outcome {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const bytes = backing === 'pfnmap-1g' ? 2 ** 30 : PAGES * 4096;
  const scale = bytes / 4096 / PAGES;
  const base = createFaultinVm(engine, backing, variant, bytes, tdpMmu);
  const refs = base.host.mem.refs;
  const out: Outcome = { violations: [], runErrors: 0, orphansLeft: 0 };
  const check = (vm: FaultinVm, step: number) => {
    checkSptesMapLivePages(vm.kvm);
    for (const e of refs.errors) out.violations.push(`step ${step}: ${e.kind}: ${e.message}`);
    refs.errors.length = 0;
    if (refs.count.some((c) => c < 0)) out.violations.push(`step ${step}: a negative refcount`);
  };
  engine.spawn('vcpu0', function* (t) {
    const vm = yield* addFaultinSlot(t, base);
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i];
      if (o.kind === 'fault')
        try {
          yield* touchPages(t, vm, o.page * scale, 1, o.write);
        } catch (e) {
          if (!(e instanceof KvmRunError)) throw e;
          out.runErrors++;
        }
      else if (o.kind === 'zap') hostZap(t, vm, o.page * scale, o.n * scale);
      else {
        hostZap(t, vm, 0, vm.pages);
        vm.device?.release();
      }
      check(vm, i);
    }
    out.orphansLeft = refs.orphans.size;
  });
  engine.run();
  return out;
}

describe('page references under random fault / zap / unmap sequences', () => {
  for (const backing of FAULTIN_BACKINGS)
    it(`${backing}: no refcount error, no negative count, no SPTE mapping a freed frame, under each policy and MMU`, () => {
      for (const variant of ['pre-6.13', '6.13', 'stevens-v11'] as const)
        for (const tdpMmu of [true, false])
          fc.assert(
            fc.property(fc.array(op, { minLength: 1, maxLength: 20 }), (ops) => {
              const r = runOps(backing, variant, ops, tdpMmu);
              expect(r.violations).toEqual([]);
              // KVM never holds a reference past a fault, so nothing waits for a last put_page.
              expect(r.orphansLeft).toBe(0);
              // Only pre-6.13 refuses a page, and only a non-refcounted one.
              if (backing !== 'non-refcounted' || variant !== 'pre-6.13') expect(r.runErrors).toBe(0);
            }),
            { numRuns: tdpMmu ? 8 : 4, seed: 19 },
          );
    });

  it('the check finds SPTEs left on frames their driver freed without unmapping them (no MMU notifier)', () => {
    const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
    const base = createFaultinVm(engine, 'non-refcounted', '6.13', PAGES * 4096);
    let found = 0;
    engine.spawn('vcpu0', function* (t) {
      const vm = yield* addFaultinSlot(t, base);
      yield* touchPages(t, vm, 0, 2, true);
      // The driver frees its block while the VMM still maps it: nobody tells KVM.
      vm.device!.release();
      found = checkSptesMapLivePages(vm.kvm);
    });
    engine.run();
    expect(found).toBe(2);
    expect(base.host.mem.refs.errors.map((e) => e.kind)).toEqual(['spte-maps-freed', 'spte-maps-freed']);
  });

  it('mixedmap: vm_insert_page keeps a page the driver frees while mapped (an orphan until the zap)', () => {
    const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
    const base = createFaultinVm(engine, 'mixedmap', '6.13', PAGES * 4096);
    const sizes: number[] = [];
    engine.spawn('vcpu0', function* (t) {
      const vm = yield* addFaultinSlot(t, base);
      yield* touchPages(t, vm, 0, 2, true);
      vm.device!.release();
      sizes.push(base.host.mem.refs.orphans.size, checkSptesMapLivePages(vm.kvm));
      hostZap(t, vm, 0, 2);
      sizes.push(base.host.mem.refs.orphans.size, checkSptesMapLivePages(vm.kvm));
    });
    engine.run();
    expect(sizes).toEqual([2, 0, 0, 0]);
  });
});
