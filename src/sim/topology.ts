import type { CostProfile } from './profile.ts';

/** Host CPUs of a profile: sockets x cores per socket x SMT threads per core. */
export function profileCpus(p: CostProfile): number {
  return p.sockets * p.coresPerSocket * p.threadsPerCore;
}

/**
 * The host's CPU topology and where the scheduler puts threads on it.
 *
 * Numbering as on Linux x86: the physical cores of socket 0, then of socket 1, ..., then their SMT
 * siblings in the same order. Socket s is NUMA node s.
 *
 * Placement (the steady state of kernel/sched/fair.c): a forked thread stays on its parent's node
 * while that node would run at most `imb_numa_nr` tasks (find_idlest_group with
 * adjust_numa_imbalance), which build_sched_domains sets to 12.5% of a node's CPUs when the node
 * has one LLC; past that, NUMA load balancing evens the nodes out. Within a node, idle physical
 * cores are used before SMT siblings. So the engine hands CPUs out in that order for the number of
 * threads an experiment will run at once.
 */
export class Topology {
  /** Socket (NUMA node) of each CPU. */
  readonly socketOf: Uint8Array;
  readonly sockets: number;
  /** sd->imb_numa_nr: tasks a node may run while another node idles. */
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

  /** numa_node_id(): the node of the CPU `cpu` runs on (node 0 for a thread without a CPU). */
  nodeOf(cpu: number): number {
    return cpu < 0 ? 0 : this.socketOf[cpu];
  }

  /** CPU ids in the order the scheduler fills an idle host running `runnable` threads at once. */
  fillOrder(runnable: number): number[] {
    const bySocket: number[][] = Array.from({ length: this.sockets }, () => []);
    for (let c = 0; c < this.cpus; c++) bySocket[this.socketOf[c]].push(c);
    if (runnable <= this.imbNumaNr || this.sockets === 1) return bySocket.flat();
    // Balanced nodes: alternate sockets, each in its own order (cores before SMT siblings).
    const order: number[] = [];
    const longest = Math.max(...bySocket.map((l) => l.length));
    for (let i = 0; i < longest; i++) for (const list of bySocket) if (i < list.length) order.push(list[i]);
    return order;
  }
}
