import type { Topology } from './topology.ts';

/** NUMA_IMBALANCE_MIN (kernel/sched/fair.c): idle-CPU imbalance always tolerated between nodes. */
export const NUMA_IMBALANCE_MIN = 2;

/**
 * Which CPUs are busy, and where the scheduler puts a thread that needs one: select_task_rq_fair.
 *
 * - A forked thread (`forkCpu`, sched_balance_find_dst_cpu with SD_BALANCE_FORK): at the NUMA level,
 *   find_idlest_group keeps it on its parent's node while that node has spare CPUs, would run at
 *   most `imb_numa_nr` tasks and has at most NUMA_IMBALANCE_MIN fewer idle CPUs than the idlest
 *   node (adjust_numa_imbalance, since 5.19's "sched/numa: Apply imbalance limitations
 *   consistently"); otherwise it goes to the node with the most idle CPUs. So threads forked one
 *   after the other alternate between two nodes once the first node is 3 CPUs busier.
 * - A waking thread (`wakeCpu`, select_idle_sibling): its previous CPU if idle, else an idle CPU of
 *   the same node (LLC), else any idle CPU.
 * Within a node idle physical cores come before SMT siblings (find_idlest_cpu at the SMT level).
 * Later NUMA load balancing (an active balance after `cache_nice_tries` + 3 failed attempts, about
 * a second at the NUMA level's interval) is not modelled: threads stay where they were placed.
 */
export class CpuPlacement {
  /** 1 while a thread holds the CPU. */
  private readonly busy: Uint8Array;
  /** Busy CPUs of each node. */
  private readonly busyOnNode: Int32Array;
  /** Each node's CPUs in the order an idle one is picked: physical cores, then SMT siblings. */
  private readonly nodeCpus: Int32Array[];

  constructor(private readonly topology: Topology) {
    this.busy = new Uint8Array(topology.cpus);
    this.busyOnNode = new Int32Array(topology.sockets);
    const lists: number[][] = Array.from({ length: topology.sockets }, () => []);
    for (let c = 0; c < topology.cpus; c++) lists[topology.socketOf[c]].push(c);
    this.nodeCpus = lists.map((l) => Int32Array.from(l));
  }

  /** Idle CPUs of node `n`. */
  idleOn(n: number): number {
    return this.nodeCpus[n].length - this.busyOnNode[n];
  }

  /** A CPU for a thread forked by a thread on `parentNode` (`bindNode` ≥ 0: only that node), or -1. */
  forkCpu(parentNode: number, bindNode = -1): number {
    if (bindNode >= 0) return this.idleCpuOn(bindNode);
    const node = this.findIdlestNode(parentNode);
    const cpu = this.idleCpuOn(node);
    return cpu >= 0 ? cpu : this.anyIdleCpu();
  }

  /** A CPU for a thread waking after it last ran on `prevCpu` (-1: never ran), or -1. */
  wakeCpu(prevCpu: number, bindNode = -1): number {
    if (prevCpu >= 0 && this.busy[prevCpu] === 0) return prevCpu;
    const node = bindNode >= 0 ? bindNode : this.topology.nodeOf(prevCpu);
    const cpu = this.idleCpuOn(node);
    return cpu >= 0 || bindNode >= 0 ? cpu : this.anyIdleCpu();
  }

  /** Whether no thread holds `cpu`. */
  isIdle(cpu: number): boolean {
    return cpu < this.busy.length && this.busy[cpu] === 0;
  }

  /** A thread took `cpu`. */
  take(cpu: number): void {
    this.busy[cpu] = 1;
    this.busyOnNode[this.topology.socketOf[cpu]]++;
  }

  /** The thread on `cpu` gave it up. */
  release(cpu: number): void {
    this.busy[cpu] = 0;
    this.busyOnNode[this.topology.socketOf[cpu]]--;
  }

  /** find_idlest_group at the NUMA level, for groups that still have idle CPUs. */
  private findIdlestNode(local: number): number {
    const nodes = this.topology.sockets;
    if (nodes === 1) return 0;
    let idlest = -1;
    for (let n = 0; n < nodes; n++)
      if (n !== local && (idlest < 0 || this.idleOn(n) > this.idleOn(idlest))) idlest = n;
    const localIdle = this.idleOn(local);
    const idlestIdle = this.idleOn(idlest);
    if (idlestIdle === 0) return local;
    if (localIdle === 0) return idlest;
    // adjust_numa_imbalance(imbalance, local running + 1, imb_numa_nr)
    const imbalance = Math.abs(localIdle - idlestIdle);
    const allowed = this.busyOnNode[local] + 1 <= this.topology.imbNumaNr;
    if (allowed && imbalance <= NUMA_IMBALANCE_MIN) return local;
    return localIdle >= idlestIdle ? local : idlest;
  }

  /** The first idle CPU of node `node` (physical cores before SMT siblings), or -1. */
  idleCpuOnNode(node: number): number {
    return this.idleCpuOn(node);
  }

  private idleCpuOn(node: number): number {
    const list = this.nodeCpus[node];
    for (let i = 0; i < list.length; i++) if (this.busy[list[i]] === 0) return list[i];
    return -1;
  }

  private anyIdleCpu(): number {
    for (let n = 0; n < this.nodeCpus.length; n++) {
      const c = this.idleCpuOn(n);
      if (c >= 0) return c;
    }
    return -1;
  }
}
