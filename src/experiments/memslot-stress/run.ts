/**
 * Models tools/testing/selftests/kvm/memslot_modification_stress_test.c: run_test, vcpu_worker and
 * add_remove_memslot. The vCPU threads run memstress passes (one KVM_RUN each, ending in
 * GUEST_SYNC) until stop_vcpus, while the main thread adds DUMMY_MEMSLOT_INDEX one page below the
 * test region and deletes it again, -i times, sleeping -d microseconds before each add. Every add
 * is one memslot swap and every delete two (kvm_invalidate_memslot, then the removal), and each
 * swap moves the address space's memslot generation on.
 */
import { memstressGuestPass } from '../../guest/memstress.ts';
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../../kvm/vcpu-run.ts';
import { CAT } from '../../sim/accounting.ts';
import { Engine } from '../../sim/engine.ts';
import { DEFAULT_PROFILE, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import { createMemstressVm, type MemstressVm } from '../access-tracking/memstress-vm.ts';
import { GUEST_MODE } from '../access-tracking/selftest-output.ts';
import { DUMMY_MEMSLOT_INDEX, type MemslotStressOptions, PAGE_SIZE } from './options.ts';

/** What one run printed and did. */
export interface MemslotStressResult {
  options: MemslotStressOptions;
  /** The selftest's stdout, line by line, in order. */
  stdout: string[];
  /** Simulated time of each printed line, ns from the start of the run. */
  lineNs: number[];
  /** KVM_SET_USER_MEMORY_REGION calls on the dummy slot that succeeded (2 per iteration). */
  memslotUpdates: number;
  /** Address space 0's memslot generation before the first add and after the last delete. */
  generationBefore: number;
  generationAfter: number;
  /** memstress passes the vCPUs completed (KVM_RUN returning with GUEST_SYNC). */
  vcpuPasses: number;
  eptViolations: number;
  /** Simulated time from the first add to the last delete, and of the whole run. */
  churnNs: number;
  simulatedNs: number;
}

/** vcpu_worker: KVM_RUN until stop_vcpus; each return is the GUEST_SYNC after one memstress pass. */
function* vcpuWorker(
  t: SimThread,
  vm: MemstressVm,
  vcpu: KvmVcpu,
  stop: { v: boolean },
  passes: number[],
  exited: WaitCount,
) {
  vcpu.thread = t;
  const rand = { seed: vm.args.randomSeed + vcpu.id };
  const stats = { reads: 0, writes: 0 };
  while (!stop.v) {
    yield* kvmArchVcpuIoctlRun(t, vcpu, memstressGuestPass(t, vcpu, vm.args, rand, stats));
    passes[vcpu.id]++;
    if (t.mustSync()) yield;
  }
  exited.add(t, 1);
}

/** Runs the selftest once with `o` on the model. Deterministic. */
export function runMemslotModificationStress(
  o: MemslotStressOptions,
  profileName = DEFAULT_PROFILE,
): MemslotStressResult {
  const engine = new Engine({ profile: loadProfile(profileName), seed: 0, cpus: o.vcpus + 1 });
  const stdout: string[] = [];
  const lineNs: number[] = [];
  let result: MemslotStressResult | null = null;
  engine.spawn('main', function* (t) {
    const print = (l: string) => {
      stdout.push(l);
      lineNs.push(t.now);
    };
    print(`Testing guest mode: ${GUEST_MODE}`);
    const vm = yield* createMemstressVm(t, engine, {
      vcpus: o.vcpus,
      vcpuBytes: o.vcpuBytes,
      overlap: o.overlap,
      backing: 'anonymous',
      aging: 'lockless',
      eptAd: true,
      tdpMmu: o.mmu === 'tdp',
    });
    const kvm = vm.kvm;
    print(
      `guest physical test memory: [0x${vm.args.gpa.toString(16)}, 0x${(vm.args.gpa + vm.args.size).toString(16)})`,
    );
    print('Finished creating vCPUs');
    const stop = { v: false };
    const passes = kvm.vcpus.map(() => 0);
    const exited = new WaitCount(engine, false);
    for (const vcpu of kvm.vcpus)
      engine.spawn(`vcpu${vcpu.id}`, (vt) => vcpuWorker(vt, vm, vcpu, stop, passes, exited));
    print('Started all vCPUs');
    // add_remove_memslot: one page just below the memstress memslot. vm_userspace_mem_region_add
    // maps fresh anonymous memory each time; the model maps one range and reuses it.
    const gpa = vm.args.gpa - PAGE_SIZE;
    const hva = kvm.mm.mmap(PAGE_SIZE, 'anonymous').start;
    const generationBefore = kvm.memslots(0).generation;
    const churnStart = t.now;
    let memslotUpdates = 0;
    for (let i = 0; i < o.iterations; i++) {
      t.until(CAT.other, t.now + o.delayUs * 1000);
      if (t.mustSync()) yield;
      if ((yield* kvm.setMemoryRegion(t, 0, DUMMY_MEMSLOT_INDEX, 0, gpa, PAGE_SIZE, hva)) !== 0)
        throw new Error('memslot_modification_stress_test: adding the dummy memslot failed');
      memslotUpdates++;
      // vm_mem_region_delete: KVM_SET_USER_MEMORY_REGION with memory_size 0.
      if ((yield* kvm.setMemoryRegion(t, 0, DUMMY_MEMSLOT_INDEX, 0, gpa, 0, hva)) !== 0)
        throw new Error('memslot_modification_stress_test: deleting the dummy memslot failed');
      memslotUpdates++;
    }
    const churnNs = t.now - churnStart;
    // memstress_join_vcpu_threads: stop_vcpus, then wait for each vCPU to finish its pass.
    stop.v = true;
    yield exited.waitFor(t, o.vcpus);
    print('All vCPU threads joined');
    result = {
      options: o,
      stdout,
      lineNs,
      memslotUpdates,
      generationBefore,
      generationAfter: kvm.memslots(0).generation,
      vcpuPasses: passes.reduce((a, b) => a + b, 0),
      eptViolations: kvm.stats.eptViolations,
      churnNs,
      simulatedNs: t.now,
    };
  });
  engine.run();
  if (result === null) throw new Error('memslot-modification-stress: the run did not finish');
  return result;
}
