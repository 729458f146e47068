import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { PhysMem } from './phys-mem.ts';

/**
 * A machine of 64 CPUs (`x86-tdp`'s costs) on one socket per node of `nodePages` frames; runs `body`
 * on one thread on CPU 0 (node 0).
 */
function onCpu0(nodePages: number[], body: (mem: PhysMem, t: SimThread) => void) {
  const sockets = nodePages.length;
  const profile = { ...loadProfile('x86-tdp'), sockets, coresPerSocket: 64 / sockets, threadsPerCore: 1 };
  const e = new Engine({ profile, seed: 0 });
  const mem = new PhysMem(e, nodePages);
  // biome-ignore lint/correctness/useYield: the body runs in one step
  const run = function* (t: SimThread) {
    body(mem, t);
  };
  e.spawn('allocator', run, 0, -1, 0);
  e.run();
  return { mem, zoneLock: mem.nodes[0].zoneLock, profile };
}

/** A one-node machine: `onCpu0` with `pages` frames. */
function onOneNode(pages: number, body: (mem: PhysMem, t: SimThread) => void) {
  return onCpu0([pages], body);
}

describe('page allocator per-CPU lists (rmqueue_pcplist, free_unref_page)', () => {
  it('6.7: order-0 allocations refill their list 63, 126, 252... pages at a time, one zone->lock hold each', () => {
    // 1 Mi frames: high_max = 2^20 / 8 / 64 CPUs = 2048, so the sixth refill is 2048 - 63 = 1985.
    const { mem, zoneLock, profile } = onOneNode(1 << 20, (m, t) => {
      for (let i = 0; i < 63 + 126 + 252 + 504 + 1008 + 1985; i++) m.allocPages(t, 0, 0);
    });
    expect(mem.nodes[0].highMax).toBe(2048);
    expect(zoneLock.stats.writeAcquired).toBe(6);
    expect(mem.pcps[0].allocFactor[0]).toBe(5);
    expect(mem.nodes[0].allocated).toBe(63 + 126 + 252 + 504 + 1008 + 1985);
    expect(profile.pcpBatch).toBe(63);
  });

  it('before 6.7: one batch per refill', () => {
    const { zoneLock } = onOneNode(1 << 20, (m, t) => {
      m.pcps[0].autoTune = false;
      for (let i = 0; i < 63 * 6; i++) m.allocPages(t, 0, 0);
    });
    expect(zoneLock.stats.writeAcquired).toBe(6);
  });

  it('6.7: runs of frees spill 125, 250, 500, 1000 then 1985 pages as free_count grows, leaving a batch', () => {
    const { mem, zoneLock } = onOneNode(1 << 20, (m, t) => {
      const pfns: number[] = [];
      // Seven refills (the seventh 1985 pages, 62 of them used): 1923 pages stay on the list.
      for (let i = 0; i < 4000; i++) pfns.push(m.allocPages(t, 0, 0));
      expect(m.nodes[0].zoneLock.stats.writeAcquired).toBe(7);
      for (const pfn of pfns) m.freeUnrefPage(t, pfn);
    });
    // The list reaches pcp->high (2048) after 125 frees and spills free_count = 125 pages, then
    // 250, 500, 1000, and min(2000, 2048 - 63) = 1985 twice: 3985 frees; 15 more stay on the list.
    expect(zoneLock.stats.writeAcquired).toBe(7 + 6);
    expect(mem.nodes[0].allocated).toBe(63 + 15);
    expect(mem.pcps[0].freeCount[0]).toBe(63 << 5);
  });

  it('keeps one list per node: a page of node 1 freed on a CPU of node 0 is not handed to a node-0 allocation', () => {
    const got: number[] = [];
    const { mem } = onCpu0([1 << 16, 1 << 16], (m, t) => {
      const remote = m.allocPages(t, 1, 0);
      m.freeUnrefPage(t, remote);
      got.push(remote, m.allocPages(t, 0, 0), m.allocPages(t, 1, 0));
    });
    const [remote, local, again] = got;
    expect(mem.pfnToNid(remote)).toBe(1);
    expect(mem.pfnToNid(local)).toBe(0);
    // The freed node-1 page waits on CPU 0's node-1 list and is the next node-1 allocation.
    expect(again).toBe(remote);
  });

  it('skips a node at or below its low watermark for the next one (zone_watermark_fast on the zonelist)', () => {
    const nodeOf: number[] = [];
    let taken = 0;
    // 16 Ki frames a node: min_free_kbytes sqrt(65536 x 16) = 1024 kB, 256 pages; low 256 + 64.
    const { mem } = onCpu0([1 << 14, 1 << 14], (m, t) => {
      for (; m.nodes[0].freePages() > m.nodes[0].wmarkLow; taken++) m.allocPages(t, 0, 0);
      for (let i = 0; i < 3; i++) nodeOf.push(m.pfnToNid(m.allocPages(t, 0, 0)));
    });
    expect(mem.nodes[0].wmarkLow).toBe(320);
    // Node 0's own list still holds pages from its last refill (allocated, not yet handed out), but
    // the zone is skipped.
    expect(mem.nodes[0].allocated - taken).toBeGreaterThan(0);
    expect(nodeOf).toEqual([1, 1, 1]);
  });
});
