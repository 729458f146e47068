/**
 * Models tools/testing/selftests/kvm/memslot_perf_test.c: vcpu_worker (check_mmio_access),
 * test_execute (prepare, launch, the timed loop until -l seconds have passed, exit and join),
 * test_loop (its printed lines and the best results) and main's loop over the tests and runs. Every
 * time is simulated: each run is a fresh VM on a fresh simulated host, so runs are deterministic.
 */
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../../kvm/vcpu-run.ts';
import { Engine } from '../../sim/engine.ts';
import { DEFAULT_PROFILE, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import { MEM_SIZE, type MemslotPerfOptions, TESTS } from './options.ts';
import {
  type GuestCode,
  type GuestState,
  makeGuestExit,
  moveAreaPrepare,
  SyncArea,
  TEST_CODE,
} from './tests.ts';
import { prepareVm, type VmData } from './vm.ts';

/** One run of one test (struct test_result), or why it could not run. */
export interface MemslotPerfRun {
  test: string;
  slotRuntimeNs: number;
  guestRuntimeNs: number;
  nloops: number;
  /** KVM_EXIT_MMIO exits the vCPU thread checked (move active area). */
  mmioExits: number;
  eptViolations: number;
}

/** What the selftest printed, and every run's figures. */
export interface MemslotPerfResult {
  options: MemslotPerfOptions;
  stdout: string[];
  runs: MemslotPerfRun[];
}

const NSEC = 1e9;
/** "%ld.%.9lds" of a timespec. */
export function sec(ns: number): string {
  const n = Math.round(ns);
  return `${Math.floor(n / NSEC)}.${String(n % NSEC).padStart(9, '0')}s`;
}

/** vcpu_worker: the GUEST_SYNC(0) that posts vcpu_ready, then KVM_RUN until GUEST_DONE, checking each MMIO exit. */
function* vcpuWorker(
  t: SimThread,
  d: VmData,
  vcpu: KvmVcpu,
  code: GuestCode,
  s: SyncArea,
  ready: WaitCount,
  out: { mmio: number; exited: WaitCount },
) {
  vcpu.thread = t;
  yield* kvmArchVcpuIoctlRun(t, vcpu, (function* () {})());
  ready.add(t, 1);
  const g: GuestState = { ptr: s.moveAreaPtr, mmioGpa: 0 };
  let done = false;
  while (!done) {
    let r = false;
    yield* kvmArchVcpuIoctlRun(
      t,
      vcpu,
      (function* () {
        r = yield* code(t, d, s, g);
      })(),
    );
    done = r;
    if (!done) {
      // check_mmio_access.
      if (!d.mmioOk || g.mmioGpa < d.mmioGpaMin || g.mmioGpa > d.mmioGpaMax)
        throw new Error(`Unexpected exit mmio address = 0x${g.mmioGpa.toString(16)}`);
      out.mmio++;
    }
  }
  out.exited.add(t, 1);
}

/** test_execute on a fresh simulated host: null when the memslot count does not fit (with maxslots). */
function testExecute(
  o: MemslotPerfOptions,
  index: number,
  print: (l: string) => void,
  profileName: string,
): MemslotPerfRun | { maxslots: number } {
  const test = TESTS[index];
  const code = TEST_CODE[index];
  const engine = new Engine({ profile: loadProfile(profileName), seed: 0, cpus: 2 });
  let result: MemslotPerfRun | { maxslots: number } | null = null;
  engine.spawn('main', function* (t) {
    const prep = yield* prepareVm(t, engine, o, test.memSize || MEM_SIZE, (l) => {
      if (o.verbose) print(l);
    });
    if ('maxslots' in prep) {
      result = prep;
      return;
    }
    const d = prep.data;
    const s = new SyncArea(engine);
    if (code.move !== undefined && !moveAreaPrepare(d, s, code.move === 'active')) {
      result = { maxslots: 0 };
      return;
    }
    if (o.verbose) print('Launching the test VM');
    const ready = new WaitCount(engine, false, 'vcpu_ready');
    const out = { mmio: 0, exited: new WaitCount(engine, false, 'pthread_join') };
    engine.spawn('vcpu0', (vt) => vcpuWorker(vt, d, d.vcpu, code.guest, s, ready, out));
    yield ready.waitFor(t, 1);
    const tstart = t.now;
    let nloops = 0;
    let guestRuntimeNs = 0;
    for (;;) {
      guestRuntimeNs = t.now - tstart;
      // guest_runtime->tv_sec >= maxtime (the programmatic API also takes fractions of a second).
      if (guestRuntimeNs >= o.seconds * NSEC) break;
      yield* code.loop(t, d, s, o.verify);
      nloops++;
      if (t.mustSync()) yield;
    }
    makeGuestExit(t, s);
    yield out.exited.waitFor(t, 1);
    result = {
      test: test.name,
      slotRuntimeNs: prep.slotRuntimeNs,
      guestRuntimeNs,
      nloops,
      mmioExits: out.mmio,
      eptViolations: d.vm.kvm.stats.eptViolations,
    };
  });
  engine.run();
  if (result === null) throw new Error('memslot_perf_test: the run did not finish');
  return result;
}

/** main: each test from -f to -e, -r runs each, printing what the selftest prints. Deterministic. */
export function runMemslotPerf(o: MemslotPerfOptions, profileName = DEFAULT_PROFILE): MemslotPerfResult {
  const stdout: string[] = [];
  const print = (l: string) => stdout.push(l);
  const runs: MemslotPerfRun[] = [];
  if (o.verbose) print(`Allowed Number of memory slots: ${o.nslots + 1}`);
  let bestSlot: MemslotPerfRun | null = null;
  for (let i = o.tfirst; i <= o.tlast; i++) {
    const test = TESTS[i];
    if (i > o.tfirst) print('');
    print(`Testing ${test.name} performance with ${o.runs} runs, ${o.seconds} seconds each`);
    let best: { iterNs: number; nloops: number } | null = null;
    for (let run = 0; run < o.runs; run++) {
      const r = testExecute(o, i, print, profileName);
      if ('maxslots' in r) {
        print(
          r.maxslots
            ? `Memslot count too high for this test, decrease the cap (max is ${r.maxslots})`
            : 'Memslot count may be too high for this test, try adjusting the cap',
        );
        break;
      }
      runs.push(r);
      print(`Test took ${sec(r.slotRuntimeNs)} for slot setup + ${sec(r.guestRuntimeNs)} all iterations`);
      if (r.nloops === 0) {
        print('No full loops done - too short test time or system too loaded?');
        continue;
      }
      // timespec_div: whole nanoseconds.
      const iterNs = Math.floor(r.guestRuntimeNs / r.nloops);
      print(`Done ${r.nloops} iterations, avg ${sec(iterNs)} each`);
      // Only tests over the whole test memory rank their slot setup time.
      if (test.memSize === 0 && (bestSlot === null || r.slotRuntimeNs < bestSlot.slotRuntimeNs)) bestSlot = r;
      if (best === null || iterNs < best.iterNs) best = { iterNs, nloops: r.nloops };
    }
    if (best !== null)
      print(`Best runtime result was ${sec(best.iterNs)} per iteration (with ${best.nloops} iterations)`);
  }
  if (bestSlot !== null)
    print(`Best slot setup time for the whole test area was ${sec(bestSlot.slotRuntimeNs)}`);
  return { options: o, stdout, runs };
}
