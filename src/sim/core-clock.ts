import type { CostProfile } from './profile.ts';
import type { Topology } from './topology.ts';

/**
 * Models no kernel file: hardware (Turbo Boost's turbo ratio limits).
 * The core clock of each socket under Turbo Boost: the more of a socket's cores are active (a thread
 * of theirs is on a CPU, running or spinning; not idle), the lower the turbo ratio limit they all
 * run at (MSR_TURBO_RATIO_LIMIT buckets). Up to `turboFullCores` active cores the clock is
 * `turboMaxMhz`; from there it falls linearly to `turboAllCoreMhz` with every core active.
 *
 * The profile's CPU-time terms are taken at the top clock, so CPU work on a socket takes
 * `slowdown[socket]` = top clock / current clock times as long. Lock hand-offs, cache-line
 * transfers and memory bandwidth are not scaled (uncore and DRAM run at their own clocks).
 *
 * The count changes when the engine hands a CPU out or takes it back, at the time of the thread
 * doing so, which can be ahead of other threads' clocks (a thread that exits at 3 ms frees its core
 * for one still at 1 ms); the clock is read at the start of each piece of work. In the experiments
 * the threads hold their CPUs from start to end (spinning waits keep the CPU), so only the ends of
 * runs see this.
 */
export class CoreClock {
  /** CPU-time multiplier per socket (1 at the top clock). */
  readonly slowdown: Float64Array;
  /** Active physical cores per socket. */
  readonly activeCores: Int32Array;
  /** Threads holding a CPU of each physical core (SMT siblings share a core). */
  private readonly coreThreads: Int32Array;
  private readonly maxMhz: number;
  private readonly allCoreMhz: number;
  private readonly fullCores: number;
  private readonly cores: number;

  constructor(
    p: CostProfile,
    private readonly topology: Topology,
  ) {
    this.slowdown = new Float64Array(topology.sockets).fill(1);
    this.activeCores = new Int32Array(topology.sockets);
    this.coreThreads = new Int32Array(topology.sockets * topology.coresPerSocket);
    this.maxMhz = p.turboMaxMhz;
    this.allCoreMhz = p.turboAllCoreMhz;
    this.fullCores = p.turboFullCores;
    this.cores = topology.coresPerSocket;
  }

  /** The clock (MHz) of a socket with `active` cores active. */
  mhz(active: number): number {
    if (active <= this.fullCores || this.cores <= this.fullCores) return this.maxMhz;
    const f = Math.min(1, (active - this.fullCores) / (this.cores - this.fullCores));
    return this.maxMhz - (this.maxMhz - this.allCoreMhz) * f;
  }

  /**
   * A thread took (`delta` = 1) or gave up (-1) CPU `cpu`. Returns the socket whose clock changed,
   * or -1.
   */
  busy(cpu: number, delta: number): number {
    const core = this.topology.coreOf[cpu];
    const before = this.coreThreads[core];
    const after = before + delta;
    this.coreThreads[core] = after;
    if ((before === 0) === (after === 0)) return -1;
    const s = this.topology.socketOf[cpu];
    this.activeCores[s] += after === 0 ? -1 : 1;
    const f = this.maxMhz / this.mhz(this.activeCores[s]);
    if (f === this.slowdown[s]) return -1;
    this.slowdown[s] = f;
    return s;
  }
}
