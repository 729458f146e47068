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
    // Each node: its 8 cores and their 8 siblings; a node past the last socket has none.
    expect([0, 1, 2].map((n) => topo.cpusOn(n))).toEqual([16, 16, 0]);
  });

  it('sets imb_numa_nr to 12.5% of a node', () => {
    expect(topo.imbNumaNr).toBe(2);
  });
});
