/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: vcpu_thread_main and vcpu_run_complete_iteration. */
/**
 * vcpu_thread_main of access_tracking_perf_test.c and what it runs: vcpu_run (one memstress pass
 * inside KVM_RUN, ending in a GUEST_SYNC ucall) or pageidle_mark_vcpu_memory_idle with its checks.
 */

import { memstressGuestPass } from '../../guest/memstress.ts';
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../../kvm/vcpu-run.ts';
import type { SimThread } from '../../sim/thread.ts';
import { pageidleMarkVcpuMemoryIdle } from './page-idle-mark.ts';
import { type AccessTrackingSelftest, ITERATION_ACCESS_MEMORY } from './selftest.ts';
import { ASSERT_SITES, TestFailure } from './test-assert.ts';

/**
 * vcpu_thread_main: wait for the next iteration, do its work, report it complete; until done.
 * A failed check throws from this thread, ending the run there, as exit() in a vCPU thread ends
 * the selftest before the main thread prints the phase.
 */
export function* vcpuThreadMain(
  vt: SimThread,
  s: AccessTrackingSelftest,
  vcpu: KvmVcpu,
): Generator<void, void, void> {
  vcpu.thread = vt;
  const rand = { seed: s.vm.args.randomSeed + vcpu.id };
  let current = 0;
  try {
    for (;;) {
      yield s.iteration.waitFor(vt, current + 1);
      if (s.done) return;
      current = s.iteration.value;
      if (s.iterationWork === ITERATION_ACCESS_MEMORY) yield* vcpuRun(vt, s, vcpu, rand);
      else if (!s.o.overlap || vcpu.id === 0) pageidleChecks(s, yield* markVcpuMemoryIdle(vt, s, vcpu.id));
      // NUMA scenario: after populating, the vCPU thread is bound to another node (sched_setaffinity).
      if (current === 1 && s.numaVcpuNode >= 0 && !vt.engine.moveToNode(vt, s.numaVcpuNode))
        throw new Error(`no idle CPU on node ${s.numaVcpuNode} for vCPU ${vcpu.id}`);
      s.vcpuLastCompletedTime[vcpu.id] = vt.now;
      s.vcpuLastCompletedIteration[vcpu.id].add(vt, 1);
    }
  } catch (e) {
    // The vCPU threads are created after the main thread: tids pid+1, pid+2, ...
    if (e instanceof TestFailure) e.tid ??= s.vm.mm.pid + 1 + vcpu.id;
    throw e;
  }
}

function* markVcpuMemoryIdle(vt: SimThread, s: AccessTrackingSelftest, id: number) {
  const tick = s.hooks.onProgress === undefined ? null : s.tick;
  const m = yield* pageidleMarkVcpuMemoryIdle(vt, s.vm, id, tick, s.lastMarkEndNs);
  s.marks.push(m);
  return m;
}

/** The checks at the end of pageidle_mark_vcpu_memory_idle, in the vCPU's thread. */
function pageidleChecks(
  s: AccessTrackingSelftest,
  m: { vcpu: number; pages: number; noPfn: number; stillIdle: number },
) {
  // Assumption: less than 1% of pages are swapped out from under the test.
  if (m.noPfn >= Math.floor(m.pages / 100))
    throw new TestFailure(
      `vCPU ${m.vcpu}: No PFN for ${m.noPfn} out of ${m.pages} pages.`,
      ASSERT_SITES.noPfn,
    );
  if (m.stillIdle >= Math.floor(m.pages / 10))
    s.tooManyIdlePages(m.stillIdle, m.pages, s.o.overlap ? -1 : m.vcpu);
}

/** vcpu_run: enter the guest for one memstress pass; GUEST_SYNC exits back to userspace. */
function* vcpuRun(
  t: SimThread,
  s: AccessTrackingSelftest,
  vcpu: KvmVcpu,
  rand: { seed: number },
): Generator<void, void, void> {
  const tick = s.hooks.onProgress === undefined ? null : s.tick;
  // The pass ends in GUEST_SYNC: a ucall exit back to userspace.
  yield* kvmArchVcpuIoctlRun(t, vcpu, memstressGuestPass(t, vcpu, s.vm.args, rand, s.guestStats, tick));
}
