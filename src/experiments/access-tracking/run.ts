/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: main() (runAccessTracking). */

import { NumaBalancing } from '../../host/numa-balancing.ts';
import { taskTickNuma } from '../../host/task-numa-work.ts';
import { adPolicy, DEFAULT_AD_POLICY } from '../../kvm/ad-policy.ts';
import { LRU_GEN_ENABLED } from '../../reclaim/mglru/sysfs.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, DEFAULT_PROFILE, loadProfile } from '../../sim/profile.ts';
import { RandomStream } from '../../sim/random.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type TimeReport, timeReport } from '../../sim/time-report.ts';
import type { Tracer } from '../../sim/trace.ts';
import { kernelVariant } from '../../variants/kernel-variant.ts';
import { type AccessTrackingCounters, collectCounters } from './counters.ts';
import { lruGenUsable, TEST_MEMCG_NAME } from './lru-gen-mark.ts';
import { createMemstressVm, hostPagesFor, type MemstressVm } from './memstress-vm.ts';
import { NumaPhaseRecorder, type NumaReport } from './numa-report.ts';
import { type AccessTrackingInput, OptionsError, parseAccessTrackingOptions } from './options.ts';
import type { MarkIdleResult } from './page-idle-mark.ts';
import { checkRunSize } from './run-limits.ts';
import { type BenchmarkResult, runBenchmark, runTest } from './run-test.ts';
import { type AccessTrackingHooks, AccessTrackingSelftest, type PhaseResult } from './selftest.ts';
import { GUEST_MODE } from './selftest-output.ts';
import { type TestAssertion, TestFailure } from './test-assert.ts';
import { vcpuThreadMain } from './vcpu-thread.ts';

export type { AccessTrackingHooks, AccessTrackingProgress, PhaseResult } from './selftest.ts';

/** Everything a run produced: the selftest's lines, its checks and the counters behind them. */
export interface AccessTrackingResult {
  profile: string;
  seed: number;
  /** How memory was marked idle: 'page_idle' or 'lru_gen'. */
  mode: 'page_idle' | 'lru_gen';
  options: ReturnType<typeof parseAccessTrackingOptions>;
  guestPhysicalMemory: [number, number];
  phases: PhaseResult[];
  /** What the selftest printed to stdout, line by line, in order. */
  stdout: string[];
  /** -p: the vCPUs' wall time and the aging passes run meanwhile. */
  benchmark: BenchmarkResult | null;
  /** lru_gen mode: the generation find_generation reported after re-populating and each marking. */
  lruGenGenerations: number[];
  /** The message of a failed selftest assertion, if any (the run stops there, as the selftest does). */
  failure: string | null;
  /** That assertion as test_assert() reports it on stderr (see formatTestAssertion). */
  assertion: TestAssertion | null;
  markIdle: MarkIdleResult[][];
  counters: AccessTrackingCounters;
  /** Where every thread's simulated time went, and the locks and lines it waited on. */
  time: TimeReport;
  /** NUMA balancing's counters, per phase too, when it was simulated. */
  numa: NumaReport | null;
  /** lru_gen mode: pages left in the previous generation after each marking. */
  lruGenLeftBehind: number[];
}

/**
 * kernel.numa_balancing=1 for the VM's process: its scan state (mm_users: the main thread and the
 * vCPU threads), the tick that runs task_numa_work, the accessed/dirty policy KVM follows when it
 * zaps, and the scenario's move of the vCPU threads to the next node after populating.
 */
function startNumaBalancing(t: SimThread, st: AccessTrackingSelftest): NumaBalancing {
  const o = st.o;
  const vm = st.vm;
  const sysctls = {
    scanDelayMs: o.numaScanDelayMs,
    scanPeriodMinMs: o.numaScanPeriodMinMs,
    scanPeriodMaxMs: o.numaScanPeriodMaxMs,
    scanSizeMb: o.numaScanSizeMb,
  };
  // The process (and its mm) started at time 0.
  const nb = new NumaBalancing(vm.host, vm.mm, sysctls, o.vcpus + 1, 0);
  vm.host.numaBalancing = nb;
  st.numa = new NumaPhaseRecorder(nb);
  const nodes = vm.host.mem.nodes.length;
  if (o.numaMoveVcpus) st.numaVcpuNode = (st.engine.topology.nodeOf(t.cpu) + 1) % nodes;
  st.engine.spawn('numa_tick', (nt) => taskTickNuma(nt, nb));
  return nb;
}

/** Steps (phases and aging passes) of a run, each worth the test's pages in progress reports. */
function progressSteps(benchmark: boolean, lruGen: boolean): number {
  if (benchmark) return 1;
  return lruGen ? 9 : 7;
}

/**
 * Runs the KVM selftest access_tracking_perf_test against the model: main() and run_test in the
 * main thread, vcpu_thread_main in one thread per vCPU. Every phase time is simulated time.
 * `hooks` are called while the run simulates: each stdout line, each phase, progress.
 */
export function runAccessTracking(
  input: AccessTrackingInput,
  profileOrName: CostProfile | string = DEFAULT_PROFILE,
  trace: Tracer | null = null,
  hooks: AccessTrackingHooks = {},
): AccessTrackingResult {
  const o = parseAccessTrackingOptions(input);
  const profile = typeof profileOrName === 'string' ? loadProfile(profileOrName) : profileOrName;
  checkRunSize({ ...o, lruGen: o.lruGen || o.benchmark }, profile);
  const engine = new Engine({ profile, seed: o.seed, cpus: o.hostCpus, trace });
  let s: AccessTrackingSelftest | null = null;
  let nb: NumaBalancing | null = null;
  if (o.numaBalancing === true && profile.sockets < 2)
    throw new OptionsError(
      `numaBalancing: profile ${profile.name} has one NUMA node; NUMA balancing needs two (seed003-x86, bdw-2650v4)`,
    );
  let benchmark: BenchmarkResult | null = null;
  // kvm_selftest_init draws guest_random_seed at start-up; here it comes from the run's seed.
  const guestRandomSeed = 1 + (new RandomStream(o.seed, 'guest_random_seed').nextU32() % 2147483646);
  hooks.onLine?.(`Random seed: 0x${guestRandomSeed.toString(16)}`);

  function* main(t: SimThread): Generator<void, void, void> {
    const vm = yield* createMemstressVm(t, engine, {
      vcpus: o.vcpus,
      vcpuBytes: o.vcpuBytes,
      overlap: o.overlap,
      backing: o.backing as never,
      aging: o.aging,
      eptAd: o.eptAd,
      tdpMmu: o.mmu === 'tdp',
      randomAccess: o.randomAccess,
      randomSeed: guestRandomSeed,
      lruGen: o.lruGen || o.benchmark,
      kernel: kernelVariant(o.kernel)!,
      adPolicy: adPolicy(o.adPolicy ?? DEFAULT_AD_POLICY)!,
      memcgName: TEST_MEMCG_NAME,
      swapPages: o.swapBytes / 4096,
      hostPages:
        o.hostMemoryBytes !== undefined
          ? o.hostMemoryBytes / 4096
          : o.numaBalancing === true
            ? // Room for all guest memory on either node, so that migrations are not refused for lack of it.
              profile.sockets *
              hostPagesFor({ vcpus: o.vcpus, vcpuBytes: o.vcpuBytes }, engine.cpuCount, profile.pcpBatch)
            : undefined,
      kswapd: o.hostMemoryBytes !== undefined,
    });
    const st = new AccessTrackingSelftest(engine, o, vm, hooks, trace);
    s = st;
    if (o.numaBalancing === true) nb = startNumaBalancing(t, st);
    st.stdout.push(`Random seed: 0x${guestRandomSeed.toString(16)}`);
    yield* selftestMain(t, st);
  }

  function* selftestMain(t: SimThread, st: AccessTrackingSelftest): Generator<void, void, void> {
    const vm = st.vm;
    const print = (l: string) => st.print(l);
    // idle_pages_warn_only == -1: access_tracking_unreliable() (not nested: the model is bare metal).
    if (o.warnOnly !== undefined) st.idlePagesWarnOnly = o.warnOnly;
    else if (o.numaBalancing ?? vm.host.mem.nodes.length > 1) {
      print('Skipping idle page count sanity check, because NUMA balancing is enabled');
      st.idlePagesWarnOnly = true;
    }
    // lru_gen_usable(); a host without MGLRU has no enabled file (its open is not simulated).
    if (o.lruGen || o.benchmark) st.useLruGen = yield* lruGenUsable(t, vm.vfs, print);
    else print(`lru_gen: Could not open ${LRU_GEN_ENABLED}`);
    const v4Benchmark = o.benchmark && o.selftestVersion === 'v4-series';
    const cgroup = `/sys/fs/cgroup/${TEST_MEMCG_NAME}`;
    if (v4Benchmark) {
      if (st.useLruGen) print(`Created memcg at ${cgroup}`);
    } else if (st.useLruGen) {
      print('Using lru_gen for aging');
      print(`Creating cgroup: ${cgroup}`);
    } else print('Using page_idle for aging');
    st.unitsTotal = progressSteps(o.benchmark, st.useLruGen) * st.testPages;
    print(`Testing guest mode: ${GUEST_MODE}`);
    print(
      `guest physical test memory: [0x${vm.args.gpa.toString(16)}, 0x${(vm.args.gpa + vm.args.size).toString(16)})`,
    );
    if (!v4Benchmark) print('');
    for (const vcpu of vm.kvm.vcpus) engine.spawn(`vcpu${vcpu.id}`, (vt) => vcpuThreadMain(vt, st, vcpu));
    if (o.benchmark) {
      if (!st.useLruGen) throw new TestFailure('lru_gen is not usable: the -p benchmark needs it');
      benchmark = yield* runBenchmark(t, st, o.benchmarkAging);
    } else yield* runTest(t, st);
    // memstress_join_vcpu_threads: stop_vcpus, and the vCPU threads return.
    st.done = true;
    if (nb !== null) nb.stopped = true;
    st.iteration.add(t, 1);
  }

  engine.spawn('main', (t) => main(t));
  let assertion: TestAssertion | null = null;
  try {
    engine.run();
  } catch (e) {
    trace?.finish();
    if (!(e instanceof TestFailure) || s === null) throw e;
    const pid = (s as AccessTrackingSelftest).vm.mm.pid;
    assertion = { site: e.site, pid, tid: e.tid ?? pid, errno: 0, message: e.message };
  }
  trace?.finish();
  const st = s as AccessTrackingSelftest | null;
  if (st === null) throw new Error('access-tracking: the VM was not created');
  const vm: MemstressVm = st.vm;
  return {
    profile: profile.name,
    seed: o.seed,
    mode: st.useLruGen ? 'lru_gen' : 'page_idle',
    options: o,
    guestPhysicalMemory: [vm.args.gpa, vm.args.gpa + vm.args.size],
    phases: st.phases,
    stdout: st.stdout,
    benchmark,
    lruGenGenerations: st.lruGenGenerations,
    failure: assertion?.message ?? null,
    assertion,
    markIdle: st.markIdle,
    counters: collectCounters(engine, vm, st.guestStats),
    numa:
      nb === null
        ? null
        : {
            stats: (nb as NumaBalancing).stats,
            vcpuNode: st.numaVcpuNode,
            scanPeriodMs: (nb as NumaBalancing).numaScanPeriod,
            phases: st.numa?.phases ?? [],
          },
    lruGenLeftBehind: st.lruGenLeftBehind,
    time: timeReport(engine),
  };
}
