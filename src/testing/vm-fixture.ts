/** Models no kernel file: test support: a memstress VM for unit tests. */
import {
  createMemstressVm,
  type MemstressVm,
  type MemstressVmSpec,
} from '../experiments/access-tracking/memstress-vm.ts';
import { guestAccess } from '../guest/memstress.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../kvm/vcpu-run.ts';
import { Engine } from '../sim/engine.ts';
import { type CostProfile, loadProfile } from '../sim/profile.ts';
import type { SimThread, ThreadBody } from '../sim/thread.ts';
import type { Tracer } from '../sim/trace.ts';

/** Options of a test VM: the memstress VM shape plus the profile. */
export interface VmFixtureOptions extends Partial<MemstressVmSpec> {
  profile?: CostProfile;
  cpus?: number;
  trace?: Tracer;
}

/**
 * Builds a VM on the MMU under test and runs `body` on it (`runOnVm` with the MMU chosen): what an
 * MMU's test hands the conformance suites (mmu-conformance*.ts).
 */
export type MakeMmuVm = (
  opts: VmFixtureOptions,
  body: (t: SimThread, vm: MemstressVm, engine: Engine) => ThreadBody | undefined,
) => { engine: Engine; vm: MemstressVm };

/**
 * Builds a memstress VM (1 vCPU, 2 MiB by default) on a main thread and runs `body` there.
 * For unit tests: returns the engine and the VM after the run.
 */
export function runOnVm(
  opts: VmFixtureOptions,
  body: (t: SimThread, vm: MemstressVm, engine: Engine) => ThreadBody | undefined,
): { engine: Engine; vm: MemstressVm } {
  const engine = new Engine({
    profile: opts.profile ?? loadProfile('x86-tdp'),
    seed: 1,
    cpus: opts.cpus,
    trace: opts.trace,
  });
  let vm: MemstressVm | null = null;
  engine.spawn('main', function* (t) {
    vm = yield* createMemstressVm(t, engine, {
      vcpus: opts.vcpus ?? 1,
      vcpuBytes: opts.vcpuBytes ?? 2 << 20,
      overlap: opts.overlap ?? false,
      backing: opts.backing ?? 'anonymous',
      aging: opts.aging ?? 'lockless',
      eptAd: opts.eptAd ?? true,
      adPolicy: opts.adPolicy,
      tdpMmu: opts.tdpMmu,
      lruGen: opts.lruGen ?? false,
      swapPages: opts.swapPages ?? 0,
      hostPages: opts.hostPages,
      kswapd: opts.kswapd,
    });
    const b = body(t, vm, engine);
    if (b !== undefined) yield* b;
  });
  engine.run();
  return { engine, vm: vm as unknown as MemstressVm };
}

/** One guest access by `vcpu`, run on thread `t` as if it were the vCPU's thread in guest mode. */
export function* vcpuAccess(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  value?: number,
): ThreadBody {
  yield* kvmArchVcpuIoctlRun(t, vcpu, guestAccess(t, vcpu, gfn, write, value), false);
}

/** gfn of page `i` of the test region. */
export function testGfn(vm: MemstressVm, i: number): number {
  return vm.args.gpa / 4096 + i;
}

/** The leaf SPTE (lo, hi) mapping `gfn` under vCPU 0's root (what its CPU walks), or null if none. */
export function leafSpte(vm: MemstressVm, gfn: number): { lo: number; hi: number; level: number } | null {
  const mmu = vm.kvm.mmu;
  const root = vm.kvm.vcpus[0].root;
  if (root === null) return null;
  const idx = mmu.pool.walk(root.table, gfn);
  const lo = mmu.pool.lo[idx];
  if (!(lo & (1 << 11))) return null;
  return { lo, hi: mmu.pool.hi.get(idx), level: mmu.pool.walkLevel };
}
