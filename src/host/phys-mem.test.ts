import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { PhysMem } from './phys-mem.ts';

/** A one-node machine of 64 CPUs (`x86-tdp`'s costs) with `pages` frames; runs `body` on one thread. */
function onOneNode(pages: number, body: (mem: PhysMem, t: SimThread) => void) {
  const profile = { ...loadProfile('x86-tdp'), sockets: 1, coresPerSocket: 64, threadsPerCore: 1 };
  const e = new Engine({ profile, seed: 0 });
  const mem = new PhysMem(e, [pages]);
  // biome-ignore lint/correctness/useYield: the body runs in one step
  e.spawn('allocator', function* (t) {
    body(mem, t);
  });
  e.run();
  return { mem, zoneLock: mem.nodes[0].zoneLock, profile };
}

describe('page allocator per-CPU lists (rmqueue_pcplist, free_unref_page)', () => {
  it('6.7: order-0 allocations refill their list 63, 126, 252... pages at a time, one zone->lock hold each', () => {
    // 1 Mi frames: high_max = 2^20 / 8 / 64 CPUs = 2048, so the sixth refill is 2048 - 63 = 1985.
    const { mem, zoneLock, profile } = onOneNode(1 << 20, (m, t) => {
      for (let i = 0; i < 63 + 126 + 252 + 504 + 1008 + 1985; i++) m.allocPages(t, 0, 0);
    });
    expect(mem.nodes[0].highMax).toBe(2048);
    expect(zoneLock.stats.writeAcquired).toBe(6);
    expect(mem.pcp.scaledRefills).toBe(5);
    expect(mem.pcp.allocFactor[0]).toBe(5);
    expect(mem.nodes[0].allocated).toBe(63 + 126 + 252 + 504 + 1008 + 1985);
    expect(profile.pcpBatch).toBe(63);
  });

  it('before 6.7: one batch per refill', () => {
    const { zoneLock } = onOneNode(1 << 20, (m, t) => {
      m.pcp.autoTune = false;
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
    expect(mem.pcp.freeCount[0]).toBe(63 << 5);
  });
});
