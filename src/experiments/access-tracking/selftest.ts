/**
 * The globals of tools/testing/selftests/kvm/access_tracking_perf_test.c (iteration,
 * iteration_work, vcpu_last_completed_iteration, idle_pages_warn_only, use_lru_gen, test_pages,
 * lru_gen_last_gen) and its output: one object shared by the main thread and the vCPU threads,
 * as the test's statics are.
 */
import { GuestStats } from '../../guest/memstress.ts';
import type { Engine } from '../../sim/engine.ts';
import type { Tracer } from '../../sim/trace.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import type { MemstressVm } from './memstress-vm.ts';
import type { NumaPhaseRecorder } from './numa-report.ts';
import type { AccessTrackingOptions } from './options.ts';
import type { MarkIdleResult } from './page-idle-mark.ts';
import { ASSERT_SITES, TestFailure } from './test-assert.ts';

/** One timed phase, as run_iteration prints it. */
export interface PhaseResult {
  name: string;
  ns: number;
}

/** How far a run has got: work done of the total (guest pages touched or marked), simulated time. */
export interface AccessTrackingProgress {
  done: number;
  total: number;
  simNs: number;
}

/** Callbacks of a run, made while it simulates (for streaming output and progress). */
export interface AccessTrackingHooks {
  /** Each line the selftest prints to stdout, in its order, as soon as it is printed. */
  onLine?: (line: string) => void;
  /** Each timed phase as it completes (after its line went to onLine). */
  onPhase?: (phase: PhaseResult) => void;
  /** Progress, every few thousand pages and at the end of each phase. */
  onProgress?: (p: AccessTrackingProgress) => void;
}

/** enum iteration_work. */
export const ITERATION_ACCESS_MEMORY = 0;
export const ITERATION_MARK_IDLE = 1;

/** The test's shared state. */
export class AccessTrackingSelftest {
  /** iteration: bumped by run_iteration to start the vCPUs. */
  readonly iteration: WaitCount;
  iterationWork = ITERATION_ACCESS_MEMORY;
  /** memstress_args.stop_vcpus. */
  done = false;
  /** vcpu_last_completed_iteration[], as counters the main thread can wait on. */
  readonly vcpuLastCompletedIteration: WaitCount[];
  /** When each vCPU last completed an iteration (the -p benchmark's vcpu_last_completed_time). */
  readonly vcpuLastCompletedTime: number[];
  /** idle_pages_warn_only after auto-detection: warn instead of failing the idle-page checks. */
  idlePagesWarnOnly = false;
  useLruGen = false;
  readonly testPages: number;
  lruGenLastGen = -1;
  /** This iteration's page_idle marking results, one per marking vCPU. */
  marks: MarkIdleResult[] = [];
  /** Each page_idle marking's results. */
  readonly markIdle: MarkIdleResult[][] = [];
  /** lru_gen mode: the generation find_generation reported after re-populating and each marking. */
  readonly lruGenGenerations: number[] = [];
  readonly guestStats = new GuestStats();
  /** NUMA balancing's counters per phase, when it is simulated. */
  numa: NumaPhaseRecorder | null = null;
  /** The node the vCPU threads move to after populating (-1: they stay). */
  numaVcpuNode = -1;
  /** When the last idle marking ended (page_idle: the classification of still-idle pages starts there). */
  lastMarkEndNs = 0;
  /** lru_gen mode: pages left in the previous generation after each aging (what too_many_idle_pages would report). */
  readonly lruGenLeftBehind: number[] = [];
  readonly stdout: string[] = [];
  readonly phases: PhaseResult[] = [];
  /** Progress units (pages) of the whole run, of the steps done, and of the current one. */
  unitsTotal = 0;
  private unitsDone = 0;
  private unitsInPhase = 0;

  constructor(
    readonly engine: Engine,
    readonly o: AccessTrackingOptions,
    readonly vm: MemstressVm,
    readonly hooks: AccessTrackingHooks,
    readonly trace: Tracer | null,
  ) {
    this.iteration = new WaitCount(engine, true, 'iteration');
    this.vcpuLastCompletedIteration = vm.kvm.vcpus.map(
      () => new WaitCount(engine, true, 'vcpu_last_completed_iteration'),
    );
    this.vcpuLastCompletedTime = vm.kvm.vcpus.map(() => 0);
    this.testPages = (o.vcpus * o.vcpuBytes) / 4096;
  }

  /** printf / pr_info / puts of one line to stdout. */
  print(line: string): void {
    this.stdout.push(line);
    this.hooks.onLine?.(line);
  }

  /** Records a timed phase and prints its line ("%-30s: %ld.%09lds"). */
  phaseDone(name: string, ns: number, line: string): void {
    const phase = { name, ns };
    this.phases.push(phase);
    this.numa?.phaseDone(name);
    this.print(line);
    this.hooks.onPhase?.(phase);
    this.stepDone();
  }

  /** One step of the run (a phase, an aging pass, the benchmark) is done: progress moves on. */
  stepDone(): void {
    this.unitsDone += this.testPages;
    this.unitsInPhase = 0;
    this.reportProgress();
  }

  /** A vCPU touched or marked `pages` more pages of the current phase. */
  readonly tick = (pages: number): void => {
    this.unitsInPhase += pages;
    this.reportProgress();
  };

  private reportProgress(): void {
    const p = this.hooks.onProgress;
    if (p === undefined) return;
    const done = Math.min(this.unitsTotal, this.unitsDone + Math.min(this.unitsInPhase, this.testPages));
    p({ done, total: this.unitsTotal, simNs: this.engine.now });
  }

  /**
   * too_many_idle_pages: TEST_ASSERT(idle_pages_warn_only, ...), else a warning. `vcpuIdx` < 0
   * (overlapped regions, lru_gen) drops the "vCPUn: " prefix.
   */
  tooManyIdlePages(idle: number, total: number, vcpuIdx: number): void {
    const prefix = vcpuIdx >= 0 ? `vCPU${vcpuIdx}: ` : '';
    if (!this.idlePagesWarnOnly)
      throw new TestFailure(
        `${prefix}Too many pages still idle (${idle} out of ${total})`,
        ASSERT_SITES.tooManyIdlePages,
      );
    this.print(
      `WARNING: ${prefix}Too many pages still idle (${idle} out of ${total}), this will affect performance results.`,
    );
  }
}
