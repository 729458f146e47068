import { describe, expect, it } from 'vitest';
import { zeroProfile } from './profile.ts';
import { profileCpus, Topology } from './topology.ts';

describe('Topology', () => {
  // Two sockets of 8 cores with SMT: CPUs 0-7 socket 0, 8-15 socket 1, 16-31 their siblings.
  const p = zeroProfile({ sockets: 2, coresPerSocket: 8, threadsPerCore: 2 });
  const topo = new Topology(p, profileCpus(p));

  it('numbers cores socket by socket, then the SMT siblings', () => {
    expect(profileCpus(p)).toBe(32);
    expect([0, 7, 8, 15, 16, 24, 31].map((c) => topo.nodeOf(c))).toEqual([0, 0, 1, 1, 0, 1, 1]);
    expect(topo.nodeOf(-1)).toBe(0);
  });

  it('keeps up to imb_numa_nr (12.5% of a node) threads on one node, then balances the nodes', () => {
    expect(topo.imbNumaNr).toBe(2);
    expect(topo.fillOrder(2).slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(topo.fillOrder(3).slice(0, 6)).toEqual([0, 8, 1, 9, 2, 10]);
    // Physical cores of both sockets before any SMT sibling.
    expect(topo.fillOrder(32).slice(14, 18)).toEqual([7, 15, 16, 24]);
    expect(new Set(topo.fillOrder(3)).size).toBe(32);
  });
});
