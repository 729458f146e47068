import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import { handleMmFault, VM_FAULT_OK } from './fault.ts';
import { Host } from './host.ts';
import { type TlbFlushStats, unmapRegion } from './munmap.ts';
import { PG_LRU } from './page-flags.ts';
import { PMD_SIZE, PTRS_PER_PTE, ptePfn } from './page-table.ts';

describe('unmapRegion (munmap) of THP-backed memory', () => {
  it('zaps each PMD leaf, takes the folio off the LRU and returns all 512 frames to the node', () => {
    const engine = new Engine({
      profile: zeroProfile({ ptWalkLevelNs: 5, pageAllocNs: 10, lruMoveFolioNs: 10 }),
      seed: 0,
    });
    const host = new Host(engine, { nodePages: [4 * PTRS_PER_PTE + 4096] });
    const mm = host.createMm();
    const vma = mm.mmap(2 * PMD_SIZE, 'anonymous_thp');
    const flush: TlbFlushStats = { flushes: 0, ipis: 0 };
    const node = host.mem.nodes[0];
    let heads: number[] = [];
    let freed = -1;
    let munmapNs = -1;
    engine.spawn('task', function* (t) {
      for (const va of [vma.start, vma.start + PMD_SIZE + 4096])
        expect(handleMmFault(t, mm, va, true)).toBe(VM_FAULT_OK);
      heads = [vma.start, vma.start + PMD_SIZE].map((va) => {
        const idx = mm.pt.walk(mm.pgd, va / 4096, 1, false);
        expect(mm.pt.hitLevel).toBe(2);
        return ptePfn(mm.pt.entries[idx]);
      });
      expect(heads.map((pfn) => host.mem.flags[pfn] & PG_LRU)).toEqual([PG_LRU, PG_LRU]);
      expect([node.allocated, mm.rss, mm.memcg.pages, host.lru.onLru]).toEqual([1024, 1024, 1024, 2]);
      const start = t.now;
      freed = yield* unmapRegion(t, mm, vma.start, vma.end, () => [t.cpu], flush);
      munmapNs = t.now - start;
    });
    engine.run();
    // Two folios gathered and freed in one flush; nothing stays mapped, charged or on the LRU.
    expect([freed, flush.flushes, flush.ipis]).toEqual([2, 1, 0]);
    expect([node.allocated, mm.rss, mm.memcg.pages, host.lru.onLru]).toEqual([0, 0, 0, 0]);
    expect(node.free9).toEqual(heads);
    for (const pfn of heads) expect(host.mem.flags[pfn]).toBe(0);
    // Both PMD entries are clear: a walk stops at them (level 2), finding nothing.
    for (const va of [vma.start, vma.start + PMD_SIZE]) {
      expect(mm.pt.walk(mm.pgd, va / 4096, 1, false)).toBeLessThan(0);
      expect(mm.pt.hitLevel).toBe(2);
    }
    // Per leaf: a 3-level walk, off the LRU (lruMoveFolioNs) and the order-9 free.
    expect(munmapNs).toBe(2 * (3 * 5 + 10 + 10));
  });

  it('refuses to cut a PMD leaf in two (__split_huge_pmd is not modelled)', () => {
    const engine = new Engine({ profile: zeroProfile({}), seed: 0 });
    const host = new Host(engine, { nodePages: [2 * PTRS_PER_PTE + 4096] });
    const mm = host.createMm();
    const vma = mm.mmap(PMD_SIZE, 'anonymous_thp');
    engine.spawn('task', function* (t) {
      handleMmFault(t, mm, vma.start, true);
      yield* unmapRegion(t, mm, vma.start, vma.start + PMD_SIZE / 2, () => [], { flushes: 0, ipis: 0 });
    });
    expect(() => engine.run()).toThrow(
      'unmapRegion: splitting a PMD leaf (__split_huge_pmd) is not modelled',
    );
  });
});
