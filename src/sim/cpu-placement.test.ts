import { describe, expect, it } from 'vitest';
import { CpuPlacement } from './cpu-placement.ts';
import { zeroProfile } from './profile.ts';
import { profileCpus, Topology } from './topology.ts';

/** Forks `n` threads from a parent running on node 0's first CPU; returns the CPUs they got. */
function forkAll(placement: CpuPlacement, n: number): number[] {
  const cpus: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = placement.forkCpu(0);
    placement.take(c);
    cpus.push(c);
  }
  return cpus;
}

describe('CpuPlacement', () => {
  // Two sockets of 56 cores with SMT (seed003-x86): imb_numa_nr 14.
  const big = zeroProfile({ sockets: 2, coresPerSocket: 56, threadsPerCore: 2 });
  const bigTopo = new Topology(big, profileCpus(big));

  it('keeps forked threads on the parent node until it has NUMA_IMBALANCE_MIN + 1 fewer idle CPUs, then alternates', () => {
    expect(bigTopo.imbNumaNr).toBe(14);
    const p = new CpuPlacement(bigTopo);
    // The selftest's main thread, then 8 vCPU threads forked by it.
    const cpus = forkAll(p, 9);
    const nodes = cpus.map((c) => bigTopo.nodeOf(c));
    expect(nodes).toEqual([0, 0, 0, 1, 0, 1, 0, 1, 0]);
    // Physical cores in order on each node.
    expect(cpus).toEqual([0, 1, 2, 56, 3, 57, 4, 58, 5]);
  });

  it('puts 1 and 2 vCPUs with the main thread, and one of 4 on the other node', () => {
    const nodesOf = (n: number) => forkAll(new CpuPlacement(bigTopo), n + 1).map((c) => bigTopo.nodeOf(c));
    expect(nodesOf(1)).toEqual([0, 0]);
    expect(nodesOf(2)).toEqual([0, 0, 0]);
    expect(nodesOf(4)).toEqual([0, 0, 0, 1, 0]);
  });

  it('uses physical cores before SMT siblings, and balances nodes past imb_numa_nr', () => {
    // Two sockets of 8 cores: imb_numa_nr 2, so the allowance ends after two tasks on a node.
    const p = zeroProfile({ sockets: 2, coresPerSocket: 8, threadsPerCore: 2 });
    const topo = new Topology(p, profileCpus(p));
    const cpus = forkAll(new CpuPlacement(topo), 32);
    expect(cpus.slice(0, 6)).toEqual([0, 1, 8, 9, 2, 10]);
    expect(cpus.indexOf(16)).toBe(16);
    expect(new Set(cpus).size).toBe(32);
  });

  it('wakes a thread on its previous CPU if idle, else on an idle CPU of the same node', () => {
    const p = new CpuPlacement(bigTopo);
    expect(p.wakeCpu(60)).toBe(60);
    p.take(60);
    p.take(56);
    expect(p.wakeCpu(60)).toBe(57);
    expect(p.wakeCpu(-1)).toBe(0);
    // Bound to node 1: never node 0.
    expect(p.forkCpu(0, 1)).toBe(57);
  });

  it('returns -1 when every CPU is busy', () => {
    const p = zeroProfile({ sockets: 1, coresPerSocket: 2, threadsPerCore: 1 });
    const placement = new CpuPlacement(new Topology(p, 2));
    forkAll(placement, 2);
    expect([placement.forkCpu(0), placement.wakeCpu(1)]).toEqual([-1, -1]);
  });
});
