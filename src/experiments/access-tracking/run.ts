import { GuestStats, memstressGuestPass } from '../../guest/memstress.ts';
import type { LruGen } from '../../reclaim/mglru/lru-gen.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, DEFAULT_PROFILE, loadProfile } from '../../sim/profile.ts';
import { RandomStream } from '../../sim/random.ts';
import { call, type SimThread } from '../../sim/thread.ts';
import type { Tracer } from '../../sim/trace.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import { kernelVariant } from '../../variants/kernel-variant.ts';
import { formatSeconds, GUEST_MODE } from './format.ts';
import {
  findTestGeneration,
  lruGenDoAging,
  lruGenReadMemcgStats,
  lruGenUsable,
  TEST_MEMCG_NAME,
  TestFailure,
} from './lru-gen-mark.ts';
import { sumForGen } from './lru-gen-util.ts';
import { createMemstressVm, type MemstressVm } from './memstress-vm.ts';
import { type AccessTrackingInput, parseAccessTrackingOptions } from './options.ts';
import { type MarkIdleResult, pageidleMarkVcpuMemoryIdle } from './page-idle-mark.ts';
import { checkRunSize } from './run-limits.ts';

/** One timed phase, as run_iteration prints it. */
export interface PhaseResult {
  name: string;
  ns: number;
}

/** Everything a run produced: the selftest's lines, its checks and the counters behind them. */
export interface AccessTrackingResult {
  profile: string;
  seed: number;
  /** How memory was marked idle: 'page_idle' or 'lru_gen'. */
  mode: 'page_idle' | 'lru_gen';
  options: ReturnType<typeof parseAccessTrackingOptions>;
  guestPhysicalMemory: [number, number];
  phases: PhaseResult[];
  /** What the selftest printed after creating the VM, line by line, in order. */
  stdout: string[];
  /** -p: the vCPUs' wall time and the aging passes run meanwhile. */
  benchmark: { vcpuWallNs: number; passes: number; agingTotalNs: number; avgPassNs: number } | null;
  /** lru_gen mode: the generation find_generation reported after re-populating and each marking. */
  lruGenGenerations: number[];
  /** A failed selftest assertion, if any (the run stops there, as the selftest does). */
  failure: string | null;
  markIdle: MarkIdleResult[][];
  counters: Record<string, Record<string, number>>;
}

/** Ends the run after the benchmark, skipping the test's phases. */
class BenchmarkDone extends Error {}

const ITERATION_ACCESS_MEMORY = 0;
const ITERATION_MARK_IDLE = 1;

/**
 * Runs the KVM selftest access_tracking_perf_test in its page_idle mode against the model:
 * populate; write and read populated memory; mark idle; write to idle memory; mark idle; read from
 * idle memory. Every phase time is simulated time.
 */
export function runAccessTracking(
  input: AccessTrackingInput,
  profileOrName: CostProfile | string = DEFAULT_PROFILE,
  trace: Tracer | null = null,
): AccessTrackingResult {
  const o = parseAccessTrackingOptions(input);
  const profile = typeof profileOrName === 'string' ? loadProfile(profileOrName) : profileOrName;
  checkRunSize({ ...o, lruGen: o.lruGen || o.benchmark }, profile);
  const engine = new Engine({ profile, seed: o.seed, cpus: o.hostCpus, trace });
  const result: AccessTrackingResult = {
    profile: profile.name,
    seed: o.seed,
    mode: 'page_idle',
    options: o,
    guestPhysicalMemory: [0, 0],
    phases: [],
    stdout: [],
    failure: null,
    markIdle: [],
    benchmark: null,
    lruGenGenerations: [],
    counters: {},
  };
  let vm: MemstressVm | null = null;
  const guestStats = new GuestStats();
  engine.spawn('main', (t) => selftestMain(t));

  function* selftestMain(t: SimThread): Generator<void, void, void> {
    vm = yield* createMemstressVm(t, engine, {
      vcpus: o.vcpus,
      vcpuBytes: o.vcpuBytes,
      overlap: o.overlap,
      backing: o.backing as never,
      aging: o.aging,
      eptAd: o.eptAd,
      randomAccess: o.randomAccess,
      // The selftests draw guest_random_seed at start-up; here it comes from the run's seed.
      randomSeed: 1 + (new RandomStream(o.seed, 'guest_random_seed').nextU32() % 2147483646),
      lruGen: o.lruGen || o.benchmark,
      kernel: kernelVariant(o.kernel)!,
      memcgName: TEST_MEMCG_NAME,
      swapPages: o.swapBytes / 4096,
      hostPages: o.hostMemoryBytes === undefined ? undefined : o.hostMemoryBytes / 4096,
      kswapd: o.hostMemoryBytes !== undefined,
    });
    const theVm = vm;
    const out = result.stdout;
    const useLruGen = (o.lruGen || o.benchmark) && (yield* lruGenUsable(t, vm.vfs, out));
    const cgroup = `/sys/fs/cgroup/${TEST_MEMCG_NAME}`;
    if (useLruGen) {
      result.mode = 'lru_gen';
      out.push('Using lru_gen for aging', `Creating cgroup: ${cgroup}`);
    } else out.push('Using page_idle for aging');
    result.guestPhysicalMemory = [vm.args.gpa, vm.args.gpa + vm.args.size];
    out.push(
      `Testing guest mode: ${GUEST_MODE}`,
      `guest physical test memory: [0x${vm.args.gpa.toString(16)}, 0x${(vm.args.gpa + vm.args.size).toString(16)})`,
      '',
    );
    const testPages = (o.vcpus * o.vcpuBytes) / 4096;
    let lastGen = -1;
    const iteration = new WaitCount(engine, true);
    const completed = vm.kvm.vcpus.map(() => new WaitCount(engine, true));
    let work = ITERATION_ACCESS_MEMORY;
    let done = false;
    let marks: MarkIdleResult[] = [];
    const vcpuDoneAt = vm.kvm.vcpus.map(() => 0);
    for (const vcpu of vm.kvm.vcpus) {
      engine.spawn(`vcpu${vcpu.id}`, function* (vt) {
        vcpu.thread = vt;
        const rand = { seed: theVm.args.randomSeed + vcpu.id };
        let current = 0;
        for (;;) {
          yield iteration.waitFor(vt, current + 1);
          if (done) return;
          current = iteration.value;
          if (work === ITERATION_ACCESS_MEMORY) yield* vcpuRun(vt, theVm, vcpu.id, rand);
          else if (!o.overlap || vcpu.id === 0) {
            const m = yield* pageidleMarkVcpuMemoryIdle(vt, theVm, vcpu.id);
            marks.push(m);
            checkMarks(m);
          }
          vcpuDoneAt[vcpu.id] = vt.now;
          completed[vcpu.id].add(vt, 1);
        }
      });
    }
    function* runIteration(description: string): Generator<void, void, void> {
      iteration.add(t, 1);
      const start = t.now;
      if (trace !== null) trace.emit(t.now, t.name, 'phase_start', description);
      for (const c of completed) yield c.waitFor(t, iteration.value);
      result.phases.push({ name: description, ns: t.now - start });
      if (trace !== null) trace.emit(t.now, t.name, 'phase_end', description);
      result.stdout.push(`${description.padEnd(30)}: ${formatSeconds(t.now - start)}`);
      if (result.failure !== null) throw new TestFailure(result.failure);
    }
    function* accessMemory(writePercent: number, description: string) {
      theVm.args.writePercent = writePercent;
      work = ITERATION_ACCESS_MEMORY;
      yield* runIteration(description);
    }
    function* markMemoryIdle() {
      if (useLruGen) return yield* lruGenMarkMemoryIdle();
      work = ITERATION_MARK_IDLE;
      marks = [];
      yield* runIteration('Mark memory idle (page_idle)');
      marks.sort((a, b) => a.vcpu - b.vcpu);
      result.markIdle.push(marks);
    }
    // lru_gen_mark_memory_idle: one aging pass, timed; the pages must have moved to a newer generation.
    function* lruGenMarkMemoryIdle() {
      const start = t.now;
      const stats = yield* lruGenDoAging(t, theVm.vfs, TEST_MEMCG_NAME);
      const ns = t.now - start;
      const newGen = findTestGeneration(stats, testPages, o.warnOnly, out);
      result.lruGenGenerations.push(newGen);
      if (newGen <= lastGen) {
        const idle = Math.min(sumForGen(stats, lastGen), testPages);
        if (!o.warnOnly) throw new TestFailure(`Too many pages still idle (${idle} out of ${testPages})`);
        out.push(
          `WARNING: Too many pages still idle (${idle} out of ${testPages}), this will affect performance results.`,
        );
      }
      result.phases.push({ name: 'Mark memory idle (lru_gen)', ns });
      out.push(`${'Mark memory idle (lru_gen)'.padEnd(30)}: ${formatSeconds(ns)}`);
      lastGen = newGen;
    }
    // The checks at the end of pageidle_mark_vcpu_memory_idle, in the vCPU's thread.
    function checkMarks(m: MarkIdleResult): void {
      if (result.failure !== null) return;
      if (m.noPfn >= Math.floor(m.pages / 100)) {
        result.failure = `vCPU ${m.vcpu}: No PFN for ${m.noPfn} out of ${m.pages} pages.`;
        return;
      }
      if (m.stillIdle >= Math.floor(m.pages / 10)) {
        const prefix = o.overlap ? '' : `vCPU${m.vcpu}: `;
        if (!o.warnOnly)
          result.failure = `${prefix}Too many pages still idle (${m.stillIdle} out of ${m.pages})`;
        else
          result.stdout.push(
            `WARNING: ${prefix}Too many pages still idle (${m.stillIdle} out of ${m.pages}), this will affect performance results.`,
          );
      }
    }
    // run_benchmark (seed 003's -p): aging passes back to back until the slowest vCPU has faulted
    // its memory in.
    function* runBenchmark() {
      out.push('Running lru_gen benchmark...');
      theVm.args.writePercent = 100;
      work = ITERATION_ACCESS_MEMORY;
      iteration.add(t, 1);
      const start = t.now;
      const target = iteration.value;
      let passes = 0;
      if (o.benchmarkAging) {
        for (;;) {
          if (t.mustSync()) yield;
          if (completed.every((c) => c.value >= target)) break;
          yield* lruGenDoAging(t, theVm.vfs, TEST_MEMCG_NAME);
          passes++;
        }
      }
      const agingTotalNs = t.now - start;
      for (const c of completed) yield c.waitFor(t, target);
      const vcpuWallNs = Math.max(...vcpuDoneAt) - start;
      const avgPassNs = passes > 0 ? Math.floor(agingTotalNs / passes) : 0;
      result.benchmark = { vcpuWallNs, passes, agingTotalNs, avgPassNs };
      out.push(`${'vcpu wall time'.padEnd(30)}: ${formatSeconds(vcpuWallNs)}`);
      if (passes > 0)
        out.push(
          `${'lru_gen avg pass duration'.padEnd(30)}: ${formatSeconds(avgPassNs)}, (passes:${passes}, total:${formatSeconds(agingTotalNs)})`,
        );
    }
    try {
      if (o.benchmark) {
        if (!useLruGen) throw new TestFailure('lru_gen is not usable: the -p benchmark needs it');
        yield* runBenchmark();
        throw new BenchmarkDone();
      }
      yield* accessMemory(100, 'Populating memory');
      if (useLruGen) {
        // An initial aging pass, so that later passes always move pages to a newer generation.
        out.push('Initial aging pass (lru_gen)');
        const stats = yield* lruGenDoAging(t, theVm.vfs, TEST_MEMCG_NAME);
        if (sumForGen(stats, -1) < testPages)
          throw new TestFailure(
            `Not all pages accounted for (looking for ${testPages}). Was the memcg set up correctly?`,
          );
        yield* accessMemory(100, 'Re-populating memory');
        const again = yield* lruGenReadMemcgStats(t, theVm.vfs, TEST_MEMCG_NAME);
        lastGen = findTestGeneration(again, testPages, o.warnOnly, out);
        result.lruGenGenerations.push(lastGen);
      }
      yield* accessMemory(100, 'Writing to populated memory');
      yield* accessMemory(0, 'Reading from populated memory');
      yield* markMemoryIdle();
      yield* accessMemory(100, 'Writing to idle memory');
      yield* markMemoryIdle();
      yield* accessMemory(0, 'Reading from idle memory');
    } catch (e) {
      if (e instanceof TestFailure) result.failure ??= e.message;
      else if (!(e instanceof BenchmarkDone)) throw e;
    }
    if (useLruGen) out.push(`Destroying cgroup: ${cgroup}`);
    done = true;
    iteration.add(t, 1);
  }

  function* vcpuRun(
    t: SimThread,
    theVm: MemstressVm,
    id: number,
    rand: { seed: number },
  ): Generator<void, void, void> {
    const p = profile;
    const vcpu = theVm.kvm.vcpus[id];
    t.advance(p.kvmRunIoctlNs / 2);
    if (vcpu.root === null) vcpu.root = theVm.kvm.mmu.allocRoot(0);
    t.advance(t.jittered(p.vmEntryNs));
    vcpu.inGuest = true;
    t.enterGuest();
    yield* call(memstressGuestPass(t, vcpu, theVm.args, rand, guestStats));
    // GUEST_SYNC: a ucall exit back to userspace.
    vcpu.inGuest = false;
    t.exitGuest();
    vcpu.exits++;
    t.advance(t.jittered(p.vmExitNs) + p.kvmRunIoctlNs / 2);
    if (t.mustSync()) yield;
  }

  engine.run();
  const v = vm as MemstressVm | null;
  if (v !== null) result.counters = collectCounters(engine, v, guestStats);
  return result;
}

function collectCounters(
  engine: Engine,
  vm: MemstressVm,
  guest: GuestStats,
): Record<string, Record<string, number>> {
  const host = vm.host;
  return {
    engine: { steps: engine.steps, threads: engine.threads.length, hostCpus: engine.cpuCount },
    vcpuLockWaitNs: Object.fromEntries(vm.kvm.vcpus.map((v) => [`vcpu${v.id}`, v.thread?.lockWaitNs ?? 0])),
    vcpuExits: Object.fromEntries(vm.kvm.vcpus.map((v) => [`vcpu${v.id}`, v.exits])),
    guest: { ...guest },
    kvm: vm.kvm.stats.snapshot(),
    mmuLock: vm.kvm.mmuLock.stats.snapshot(),
    mmapLock: vm.mm.mmapLock.stats.snapshot(),
    rmapLock: vm.testVma.rmapLock.stats.snapshot(),
    pteLocks: vm.mm.ptl.stats.snapshot(),
    mmuNotifier: { ...host.mmuNotifier.stats },
    pageIdle: { ...vm.pageIdle.stats },
    ...(host.lruGen !== null ? { lruGen: lruGenCounters(host.lruGen) } : {}),
    hostFaults: { ...host.faultStats },
    memory: {
      maxPfn: host.mem.maxPfn,
      framesAllocated: host.mem.nodes.reduce((s, n) => s + n.allocated, 0),
      slot0Written: vm.slot0Written,
      lruPages: host.lru.onLru,
      lruBatched: host.lru.pending,
      sptePages: vm.kvm.mmu.pool.tables,
      hostPageTables: vm.mm.pt.tables,
      stateBytes: stateBytes(vm),
    },
  };
}

/** MGLRU counters and the mm-walk statistics summed over lruvecs. */
function lruGenCounters(lg: LruGen): Record<string, number> {
  const walk = [0, 0, 0, 0];
  for (const l of lg.all()) for (let i = 0; i < 4; i++) walk[i] += l.mmState.stats[i];
  return {
    ...lg.stats,
    mmLeafTotal: walk[0],
    mmLeafYoung: walk[1],
    mmNonleafFound: walk[2],
    mmNonleafAdded: walk[3],
    evicted: lg.evictionStats.reclaimed,
    refaults: lg.evictionStats.refaults,
    recentRefaults: lg.evictionStats.recentRefaults,
    kswapdWakeups: lg.kswapd.reduce((n, k) => n + k.stats.wakeups, 0),
    kswapdReclaimed: lg.kswapd.reduce((n, k) => n + k.stats.reclaimed, 0),
    directReclaims: lg.directReclaims,
    reclaimThrottled: lg.reclaimThrottled,
  };
}

/** Bytes held by the per-page typed arrays: frames, host page tables, SPTEs, shmem page cache. */
function stateBytes(vm: MemstressVm): number {
  const m = vm.host.mem;
  const pool = vm.kvm.mmu.pool;
  let bytes =
    m.flags.byteLength +
    m.index.byteLength +
    m.data.byteLength +
    (m.lruLinks === null ? 0 : m.lruLinks.next.byteLength);
  for (const mm of vm.host.mms) bytes += mm.pt.entries.byteLength;
  bytes +=
    pool.lo.byteLength +
    pool.hi.byteLength +
    pool.level.byteLength +
    pool.gfn.byteLength +
    pool.parent.byteLength;
  for (const v of vm.mm.vmas) bytes += v.file?.pages.byteLength ?? 0;
  return bytes;
}
