/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: run_test, run_iteration, access_memory, mark_memory_idle, run_benchmark. */
/**
 * run_test of access_tracking_perf_test.c and the steps it is made of (run_iteration,
 * access_memory, mark_memory_idle, lru_gen_mark_memory_idle), plus seed 003's run_benchmark (-p).
 * All run in the selftest's main thread; times are simulated.
 */
import type { SimThread } from '../../sim/thread.ts';
import { findTestGeneration, lruGenDoAging, lruGenReadMemcgStats, TEST_MEMCG_NAME } from './lru-gen-mark.ts';
import { sumForGen } from './lru-gen-util.ts';
import { type AccessTrackingSelftest, ITERATION_ACCESS_MEMORY, ITERATION_MARK_IDLE } from './selftest.ts';
import { formatSeconds } from './selftest-output.ts';
import { ASSERT_SITES, TestFailure } from './test-assert.ts';

type Gen = Generator<void, void, void>;

/** "%-30s: %ld.%09lds". */
function phaseLine(description: string, ns: number): string {
  return `${description.padEnd(30)}: ${formatSeconds(ns)}`;
}

/** run_iteration: kick the vCPUs off and wait until each has completed the iteration. */
function* runIteration(t: SimThread, s: AccessTrackingSelftest, description: string): Gen {
  if (s.trace !== null) s.trace.emit(t, 'phase_start', { name: description });
  s.iteration.add(t, 1);
  const start = t.now;
  for (const c of s.vcpuLastCompletedIteration) yield c.waitFor(t, s.iteration.value);
  if (s.trace !== null) s.trace.emit(t, 'phase_end', { name: description, ns: t.now - start });
  s.phaseDone(description, t.now - start, phaseLine(description, t.now - start));
}

/** access_memory: every vCPU touches its memory, writing `writePercent` % of the pages. */
function* accessMemory(
  t: SimThread,
  s: AccessTrackingSelftest,
  writePercent: number,
  description: string,
): Gen {
  s.vm.args.writePercent = writePercent;
  s.iterationWork = ITERATION_ACCESS_MEMORY;
  yield* runIteration(t, s, description);
}

/** mark_memory_idle: one MGLRU aging pass, or every vCPU marks its pages idle in page_idle. */
function* markMemoryIdle(t: SimThread, s: AccessTrackingSelftest): Gen {
  if (s.useLruGen) return yield* lruGenMarkMemoryIdle(t, s);
  s.iterationWork = ITERATION_MARK_IDLE;
  s.marks = [];
  yield* runIteration(t, s, 'Mark memory idle (page_idle)');
  s.marks.sort((a, b) => a.vcpu - b.vcpu);
  s.markIdle.push(s.marks);
  s.lastMarkEndNs = t.now;
}

/** lru_gen_mark_memory_idle: one aging pass, timed; the pages must have moved to a newer generation. */
function* lruGenMarkMemoryIdle(t: SimThread, s: AccessTrackingSelftest): Gen {
  const name = 'Mark memory idle (lru_gen)';
  if (s.trace !== null) s.trace.emit(t, 'phase_start', { name });
  const start = t.now;
  const stats = yield* lruGenDoAging(t, s.vm.vfs, TEST_MEMCG_NAME);
  const ns = t.now - start;
  if (s.trace !== null) s.trace.emit(t, 'phase_end', { name, ns });
  const newGen = findTestGeneration(stats, s.testPages, s.idlePagesWarnOnly, (l) => s.print(l));
  s.lruGenGenerations.push(newGen);
  s.lruGenLeftBehind.push(Math.min(sumForGen(stats, s.lruGenLastGen), s.testPages));
  if (newGen <= s.lruGenLastGen)
    s.tooManyIdlePages(Math.min(sumForGen(stats, s.lruGenLastGen), s.testPages), s.testPages, -1);
  s.phaseDone('Mark memory idle (lru_gen)', ns, phaseLine('Mark memory idle (lru_gen)', ns));
  s.lruGenLastGen = newGen;
}

/** The -p benchmark's results. */
export interface BenchmarkResult {
  vcpuWallNs: number;
  passes: number;
  agingTotalNs: number;
  avgPassNs: number;
}

/**
 * run_benchmark (seed 003's -p): aging passes back to back until the slowest vCPU has faulted its
 * memory in. `aging` false runs no passes (the "no aging" rows).
 */
export function* runBenchmark(
  t: SimThread,
  s: AccessTrackingSelftest,
  aging: boolean,
): Generator<void, BenchmarkResult, void> {
  const v4 = s.o.selftestVersion === 'v4-series';
  const name = 'Running lru_gen benchmark...';
  s.print(name);
  s.vm.args.writePercent = 100;
  s.iterationWork = ITERATION_ACCESS_MEMORY;
  if (s.trace !== null) s.trace.emit(t, 'phase_start', { name });
  s.iteration.add(t, 1);
  // access_memory_async: run_iteration without waiting prints just the description.
  if (v4) s.print('Populating memory (async)'.padEnd(30));
  const start = t.now;
  const target = s.iteration.value;
  let passes = 0;
  if (aging) {
    for (;;) {
      if (t.mustSync()) yield;
      if (s.vcpuLastCompletedIteration.every((c) => c.value >= target)) break;
      yield* lruGenDoAging(t, s.vm.vfs, TEST_MEMCG_NAME);
      passes++;
    }
  }
  const agingTotalNs = t.now - start;
  for (const c of s.vcpuLastCompletedIteration) yield c.waitFor(t, target);
  if (s.trace !== null) s.trace.emit(t, 'phase_end', { name, ns: t.now - start });
  const vcpuWallNs = Math.max(...s.vcpuLastCompletedTime) - start;
  const avgPassNs = passes > 0 ? Math.floor(agingTotalNs / passes) : 0;
  s.print(phaseLine('vcpu wall time', vcpuWallNs));
  if (passes > 0)
    s.print(
      `${phaseLine('lru_gen avg pass duration', avgPassNs)}, (passes:${passes}, total:${formatSeconds(agingTotalNs)})`,
    );
  s.stepDone();
  return { vcpuWallNs, passes, agingTotalNs, avgPassNs };
}

/**
 * run_test: populate; with lru_gen an initial aging pass and a re-population; write and read
 * populated memory; mark idle; write idle memory; mark idle; read idle memory.
 */
export function* runTest(t: SimThread, s: AccessTrackingSelftest): Gen {
  yield* accessMemory(t, s, 100, 'Populating memory');
  if (s.useLruGen) {
    // An initial aging pass, so that later passes always move pages to a newer generation.
    const name = 'Initial aging pass (lru_gen)';
    s.print(name);
    if (s.trace !== null) s.trace.emit(t, 'phase_start', { name });
    const start = t.now;
    const stats = yield* lruGenDoAging(t, s.vm.vfs, TEST_MEMCG_NAME);
    if (s.trace !== null) s.trace.emit(t, 'phase_end', { name, ns: t.now - start });
    if (sumForGen(stats, -1) < s.testPages)
      throw new TestFailure(
        `Not all pages accounted for (looking for ${s.testPages}). Was the memcg set up correctly?`,
        ASSERT_SITES.allPagesAccounted,
      );
    s.stepDone();
    yield* accessMemory(t, s, 100, 'Re-populating memory');
    const again = yield* lruGenReadMemcgStats(t, s.vm.vfs, TEST_MEMCG_NAME);
    s.lruGenLastGen = findTestGeneration(again, s.testPages, s.idlePagesWarnOnly, (l) => s.print(l));
    s.lruGenGenerations.push(s.lruGenLastGen);
  }
  yield* accessMemory(t, s, 100, 'Writing to populated memory');
  yield* accessMemory(t, s, 0, 'Reading from populated memory');
  yield* markMemoryIdle(t, s);
  yield* accessMemory(t, s, 100, 'Writing to idle memory');
  yield* markMemoryIdle(t, s);
  yield* accessMemory(t, s, 0, 'Reading from idle memory');
}
