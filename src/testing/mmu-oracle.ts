/**
 * Test support: the correctness oracle of the x86 MMUs (arch/x86/kvm/mmu/mmu.c, tdp_mmu.c) under
 * memslot churn (virt/kvm/kvm_main.c). `runInterleaving` builds a small VM, runs a list of
 * `OracleCommand`s on one thread (guest accesses through KVM_RUN, memslot updates, MMU-notifier
 * invalidations, aging, kvm_mmu_zap_all_fast) and checks every invariant after every command,
 * stopping at the first violation. The commands and their fast-check arbitrary are in
 * oracle-commands.ts; the invariants in mmu-invariants.ts and shadow-invariants.ts.
 */
import { type GuestAccessResult, guestMmioAccess } from '../guest/mmio-access.ts';
import type { AgingLock, Kvm } from '../kvm/kvm.ts';
import { kvmArchVcpuIoctlRun } from '../kvm/vcpu-run.ts';
import type { MmioGenOptions, MmioZapStrategy } from '../kvm/x86/mmio-gen.ts';
import { ShadowMmu } from '../kvm/x86/shadow-mmu/shadow-mmu.ts';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { vmCreate } from '../vm/vm-builder.ts';
import {
  checkLeaves,
  checkMmioSptes,
  checkVcpuRoots,
  type InvariantId,
  type Violation,
  walkRoots,
} from './mmu-invariants.ts';
import { type OracleCommand, OracleVm } from './oracle-commands.ts';
import { checkRmaps, watchShadowFrees } from './shadow-invariants.ts';

/** The VM an interleaving runs on. */
export interface OracleSpec {
  /** The TDP MMU (kvm.tdp_mmu=1) or the shadow MMU. */
  tdpMmu: boolean;
  /** MMIO SPTE layout, memslot generation protocol and start (minus-150 makes wraps happen). */
  mmioGen: MmioGenOptions;
  aging?: AgingLock;
  /** The wraparound zap plugged into KvmMmioGen.zap (default: the VM's, kvm_mmu_zap_all_fast). */
  zap?: MmioZapStrategy;
  /** Invariants to leave out (to show that another one catches a bug on its own). */
  skip?: readonly InvariantId[];
}

/** How an interleaving ended. */
export interface OracleResult {
  /** The first violation, or null. */
  violation: Violation | null;
  /** Index of the command after which it was found (-1: none). */
  step: number;
  /** Generation wraps and guest accesses that were emulated (KVM_EXIT_MMIO) during the run. */
  wraps: number;
  mmioExits: number;
}

/**
 * The invariant checker of one VM: `check` runs every invariant over the current state, and
 * `checkAccess` the one decided at an access (emulation versus RAM). Violations found meanwhile
 * (at a shadow page's free) are kept until the next `check`.
 */
export class MmuOracle {
  private readonly pending: Violation[] = [];
  private readonly skip: ReadonlySet<InvariantId>;

  constructor(
    readonly kvm: Kvm,
    skip: readonly InvariantId[] = [],
  ) {
    this.skip = new Set(skip);
    if (kvm.mmu instanceof ShadowMmu) watchShadowFrees(kvm, kvm.mmu, this.pending);
  }

  /** Every invariant of the current state; the first one broken, or null. */
  check(): Violation | null {
    const out = this.pending.splice(0);
    const walk = walkRoots(this.kvm, out);
    checkLeaves(this.kvm, walk, out);
    checkMmioSptes(this.kvm, walk, out);
    checkVcpuRoots(this.kvm, out);
    if (this.kvm.mmu instanceof ShadowMmu) checkRmaps(this.kvm, this.kvm.mmu, out);
    return out.find((v) => !this.skip.has(v.id)) ?? null;
  }

  /**
   * The emulate decision of an access by a vCPU of address space `asId` to `gfn`: emulation
   * (KVM_EXIT_MMIO) only where no memslot covers the gfn, RAM only where one does.
   */
  checkAccess(asId: number, gfn: number, result: GuestAccessResult): Violation | null {
    const covered = this.kvm.memslots(asId).search(gfn) !== null;
    const g = `gfn 0x${gfn.toString(16)}`;
    let v: Violation | null = null;
    if (result === 'mmio' && covered)
      v = { id: 'emulated-covered-gfn', detail: `access to ${g} was emulated, a memslot covers it` };
    else if (result === 'ram' && !covered)
      v = { id: 'ram-without-memslot', detail: `access to ${g} reached RAM, no memslot covers it` };
    return v !== null && !this.skip.has(v.id) ? v : null;
  }
}

/** One guest access by `vcpu` of `vm` in guest mode (KVM_RUN, untimed); how it ended. */
export function* oracleAccess(
  t: SimThread,
  vm: OracleVm,
  vcpu: number,
  gfn: number,
  write: boolean,
): Generator<void, GuestAccessResult, void> {
  const v = vm.kvm.vcpus[vcpu];
  let r: GuestAccessResult = 'ram';
  const guest = (function* () {
    r = yield* guestMmioAccess(t, v, gfn, write, 1);
  })();
  yield* kvmArchVcpuIoctlRun(t, v, guest, false);
  return r;
}

/** Runs `cmds` on a fresh VM of `spec` (engine seed 1), checking after each; see OracleResult. */
export function runInterleaving(spec: OracleSpec, cmds: readonly OracleCommand[]): OracleResult {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const kvmVm = vmCreate(engine, {
    hostPages: 4096,
    aging: spec.aging ?? 'lockless',
    eptAd: true,
    tdpMmu: spec.tdpMmu,
    mmioGen: spec.mmioGen,
  });
  if (spec.zap !== undefined) kvmVm.kvm.mmioGen.zap = spec.zap;
  const res: OracleResult = { violation: null, step: -1, wraps: 0, mmioExits: 0 };
  engine.spawn('oracle', function* (t) {
    const vm = yield* OracleVm.create(t, kvmVm);
    const oracle = new MmuOracle(vm.kvm, spec.skip);
    res.violation = oracle.check();
    for (let i = 0; i < cmds.length && res.violation === null; i++) {
      const c = cmds[i];
      if (c.k === 'access') {
        const gfn = vm.gfn(c.page);
        const r = yield* oracleAccess(t, vm, c.vcpu, gfn, c.write);
        res.violation = oracle.checkAccess(0, gfn, r);
      } else yield* vm.run(t, c);
      res.violation ??= oracle.check();
      if (res.violation !== null) res.step = i;
      if (t.mustSync()) yield;
    }
  });
  engine.run();
  res.wraps = kvmVm.kvm.mmioGen.stats.wraps;
  res.mmioExits = kvmVm.kvm.mmioGen.stats.mmioExits;
  return res;
}
