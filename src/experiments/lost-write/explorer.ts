/**
 * Models no kernel file: runs one lost-write schedule: builds the VM, lets a chooser pick which
 * thread (vCPU, flusher, reclaim) takes each step, checks the oracle after every step, then ends
 * the run as the VMM would: the vCPU finishes its access, the memslot is deleted (KVM zaps every
 * SPTE), the flusher finishes and the file is synced (WB_SYNC_ALL); the disk must then hold every
 * last write. The random and systematic drivers (drivers.ts) are choosers over this.
 */
import { writeCachePages } from '../../host/page-writeback.ts';
import { RandomStream } from '../../sim/random.ts';
import type { SimThread } from '../../sim/thread.ts';
import {
  type Actor,
  type ActorState,
  flusherActor,
  type GuestAccess,
  reclaimActor,
  vcpuActor,
} from './actors.ts';
import { createLostWriteVm, type LostWriteVmSpec, lostWriteEngine } from './lost-write-vm.ts';
import { type LostWrite, LostWriteOracle } from './oracle.ts';

/** The threads, as the chooser numbers them. */
export const VCPU = 0;
export const FLUSHER = 1;
export const RECLAIM = 2;
const ACTOR_NAMES = ['vcpu0', 'flusher', 'reclaim'];

/** Counters and findings of one run. */
export interface LostWriteRunResult {
  writes: number;
  /** Steps taken by the chooser (before the run's end). */
  steps: number;
  pagesWritten: number;
  unneededWritebacks: number;
  pagesDropped: number;
  fastPageFaults: number;
  lost: LostWrite[];
}

/** What a schedule is run with. */
export interface ScheduleSpec extends LostWriteVmSpec {
  /** The engine's seed (thread jitter). */
  seed: number;
  /** The vCPU's accesses, in order; null when it has no more. */
  program: () => GuestAccess | null;
  /** The page each reclaim step tries. */
  reclaimPick: () => number;
  /**
   * The thread to run at step `step` (VCPU, FLUSHER, RECLAIM), or -1 to end the schedule;
   * `vcpuDone`: the vCPU's program has ended.
   */
  choose: (step: number, vcpuDone: boolean) => number;
}

/** Thrown inside a run that chose a thread that cannot run (systematic mode prunes it). */
class Pruned extends Error {}

/** Runs one schedule; null if the chooser picked the vCPU after its program ended. */
export function runSchedule(spec: ScheduleSpec): LostWriteRunResult | null {
  const engine = lostWriteEngine(spec.seed);
  let result: LostWriteRunResult | null = null;
  engine.spawn('main', function* (t: SimThread) {
    const vm = yield* createLostWriteVm(t, engine, spec);
    const oracle = new LostWriteOracle(vm);
    const st: ActorState = { step: 0, vcpuIdle: true, flusherIdle: true };
    let vcpuDone = false;
    const actors: Actor[] = [
      vcpuActor(t, vm, oracle, spec.program, st),
      flusherActor(t, vm, oracle, st),
      reclaimActor(t, vm, spec.reclaimPick),
    ];
    const stepActor = (a: number): boolean => {
      const r = actors[a].next();
      if (r.done) return false;
      oracle.afterStep(st.step, ACTOR_NAMES[a], r.value);
      st.step++;
      return true;
    };
    try {
      for (;;) {
        const a = spec.choose(st.step, vcpuDone);
        if (a < 0) break;
        if (a === VCPU && vcpuDone) throw new Pruned();
        if (!stepActor(a)) vcpuDone = true;
      }
    } catch (e) {
      if (e instanceof Pruned) return;
      throw e;
    }
    const steps = st.step;
    // The end: the vCPU finishes its access, KVM_SET_USER_MEMORY_REGION deletes the slot
    // (kvm_arch_flush_shadow_memslot zaps every SPTE), the flusher finishes, then fsync.
    while (!st.vcpuIdle && stepActor(VCPU));
    const r = yield* vm.kvm.setMemoryRegion(t, 0, 0, 0, 0, 0, 0);
    if (r !== 0) throw new Error(`deleting memslot 0: ${r}`);
    oracle.afterStep(st.step++, 'vmm', 'memslot deleted');
    while (!st.flusherIdle) stepActor(FLUSHER);
    const hooks = { onCleaned: (off: number) => oracle.cleaned(off) };
    for (const _ of writeCachePages(t, vm.host, vm.file, true, hooks));
    oracle.afterStep(st.step, 'vmm', 'fsync');
    oracle.check(st.step, true);
    result = {
      writes: oracle.writes,
      steps,
      pagesWritten: vm.file.pagesWritten,
      unneededWritebacks: oracle.unneededWritebacks,
      pagesDropped: vm.file.pagesDropped,
      fastPageFaults: vm.kvm.stats.fastPageFaults,
      lost: oracle.lost,
    };
  });
  engine.run();
  return result;
}

/** A random guest: each access picks a page and reads or writes it with equal odds. */
export function randomProgram(rand: RandomStream, pages: number): () => GuestAccess {
  return () => ({ page: rand.nextInt(pages), write: rand.nextInt(2) === 1 });
}

/** Random steps: the vCPU half the time, the flusher and reclaim a quarter each; `steps` of them. */
export function randomChooser(rand: RandomStream, steps: number): ScheduleSpec['choose'] {
  return (step) => {
    if (step >= steps) return -1;
    const x = rand.nextInt(4);
    return x < 2 ? VCPU : x === 2 ? FLUSHER : RECLAIM;
  };
}

/** Seeded streams of a random run. */
export function randomStreams(seed: number): {
  program: RandomStream;
  sched: RandomStream;
  reclaim: RandomStream;
} {
  return {
    program: new RandomStream(seed, 'lost-write:guest'),
    sched: new RandomStream(seed, 'lost-write:scheduler'),
    reclaim: new RandomStream(seed, 'lost-write:reclaim'),
  };
}
