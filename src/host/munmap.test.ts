import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import { handleMmFault, VM_FAULT_OK } from './fault.ts';
import { Host } from './host.ts';
import { type TlbFlushStats, unmapRegion } from './munmap.ts';
import { PG_DIRTY, PG_LRU } from './page-flags.ts';
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

describe('unmapRegion (munmap) of a shared file mapping', () => {
  it('clears the PTEs and moves their dirty bits to the folios, which stay in the page cache', () => {
    const engine = new Engine({ profile: zeroProfile({ ptWalkLevelNs: 5 }), seed: 0 });
    const host = new Host(engine, { nodePages: [4096 + 64] });
    const mm = host.createMm();
    const vma = mm.mmap(4 * 4096, 'file');
    const file = vma.file!;
    const flush: TlbFlushStats = { flushes: 0, ipis: 0 };
    const node = host.mem.nodes[0];
    let freed = -1;
    let allocated = -1;
    engine.spawn('task', function* (t) {
      // Writes to pages 0 and 1, a read of page 2: the page cache holds three folios.
      for (const [i, write] of [
        [0, true],
        [1, true],
        [2, false],
      ] as const)
        expect(handleMmFault(t, mm, vma.start + i * 4096, write)).toBe(VM_FAULT_OK);
      // The flusher cleaned page 0 since: only the PTE's dirty bit says it was written.
      host.mem.flags[file.pages[0]] &= ~PG_DIRTY;
      expect(mm.rss).toBe(3);
      allocated = node.allocated;
      freed = yield* unmapRegion(t, mm, vma.start, vma.end, () => [t.cpu], flush);
    });
    engine.run();
    // One flush, nothing freed: the node's pages and its per-CPU lists are as they were.
    expect([freed, flush.flushes, mm.rss, node.allocated]).toEqual([0, 1, 0, allocated]);
    const pfns = Array.from(file.pages.slice(0, 3));
    expect(pfns.every((pfn) => pfn >= 0)).toBe(true);
    expect(file.pages[3]).toBe(-1);
    // The write faults' dirty PTEs dirtied pages 0 (again) and 1; the read-only page 2 stays clean.
    expect(pfns.map((pfn) => (host.mem.flags[pfn] & PG_DIRTY) !== 0)).toEqual([true, true, false]);
    // The PTE table stays (free_pgtables is not modelled), every entry in it clear.
    for (let i = 0; i < 4; i++)
      expect(mm.pt.entries[mm.pt.walk(mm.pgd, vma.start / 4096 + i, 1, false)]).toBe(0);
  });
});
