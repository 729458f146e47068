/**
 * Models the host's CPU topology (hardware) as Linux numbers its CPUs, with sd->imb_numa_nr of
 * build_sched_domains (kernel/sched/topology.c) and numa_node_id (nodeOf).
 */
import type { CostProfile } from './profile.ts';

/**
 * A flush IPI round (smp_call_function_many with wait, as a TLB shootdown sends it): the fixed cost
 * plus one IPI and acknowledgement per target CPU, dearer for targets on another socket.
 */
export function flushIpisNs(p: CostProfile, ipis: number, remote: number): number {
  return p.tlbFlushBaseNs + (ipis - remote) * p.tlbFlushPerVcpuNs + remote * p.tlbFlushRemotePerVcpuNs;
}

/** Host CPUs of a profile: sockets x cores per socket x SMT threads per core. */
export function profileCpus(p: CostProfile): number {
  return p.sockets * p.coresPerSocket * p.threadsPerCore;
}

/**
 * The host's CPU topology.
 *
 * Numbering as on Linux x86: the physical cores of socket 0, then of socket 1, ..., then their SMT
 * siblings in the same order. Socket s is NUMA node s, with one LLC. Where threads go on it is
 * `CpuPlacement`.
 */
export class Topology {
  /** Socket (NUMA node) of each CPU. */
  readonly socketOf: Uint8Array;
  readonly sockets: number;
  /**
   * sd->imb_numa_nr: up to this many running tasks a node counts as lightly loaded
   * (build_sched_domains: 12.5 % of a node's CPUs for one LLC per node).
   */
  readonly imbNumaNr: number;

  constructor(
    p: CostProfile,
    readonly cpus: number,
  ) {
    this.sockets = Math.max(1, p.sockets);
    const cores = Math.max(1, p.coresPerSocket);
    const perSocket = cores * Math.max(1, p.threadsPerCore);
    this.imbNumaNr = Math.max(1, perSocket >> 3);
    this.coresPerSocket = cores;
    this.socketOf = new Uint8Array(cpus);
    this.coreOf = new Int32Array(cpus);
    for (let c = 0; c < cpus; c++) {
      this.socketOf[c] = Math.floor(c / cores) % this.sockets;
      this.coreOf[c] = c % (cores * this.sockets);
    }
  }

  /** Physical core of each CPU (SMT siblings share one), numbered across sockets. */
  readonly coreOf: Int32Array;
  /** Physical cores per socket. */
  readonly coresPerSocket: number;

  /** cpumask_weight(cpumask_of_node(nid)): how many CPUs node `nid` has. */
  cpusOn(nid: number): number {
    let n = 0;
    for (let c = 0; c < this.cpus; c++) if (this.socketOf[c] === nid) n++;
    return n;
  }

  /** numa_node_id(): the node of the CPU `cpu` runs on (node 0 for a thread without a CPU). */
  nodeOf(cpu: number): number {
    return cpu < 0 ? 0 : this.socketOf[cpu];
  }
}
