/**
 * Models mm/madvise.c: madvise(MADV_DONTNEED) on anonymous memory (madviseDontneed), which
 * zaps the range as zap_page_range_single of mm/memory.c does.
 */
import type { SimThread } from '../sim/thread.ts';
import type { Mm } from './mm.ts';
import { PG_LRU } from './page-flags.ts';
import { PTE_PRESENT, PTE_PSE, ptePfn } from './page-table.ts';

/**
 * madvise(MADV_DONTNEED) on anonymous memory (zap_page_range_single): invalidate the secondary MMUs
 * (MMU_NOTIFY_CLEAR), clear the PTEs of [start, end) and free the folios they mapped, then end the
 * invalidation. A PMD leaf partly inside the range is zapped whole (splitting is not modelled).
 * Returns the number of pages freed.
 */
export function madviseDontneed(t: SimThread, mm: Mm, start: number, end: number): number {
  const host = mm.host;
  const mem = host.mem;
  const range = { mm, start, end, event: 'clear' as const, blockable: true };
  host.mmuNotifier.invalidateRangeStart(t, range);
  let freed = 0;
  for (let va = start; va < end; ) {
    const vpn = Math.floor(va / 4096);
    const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
    t.advance(host.engine.profile.ptWalkLevelNs * 4);
    const level = idx < 0 ? 1 : mm.pt.hitLevel;
    const span = level === 2 ? 512 : 1;
    if (idx >= 0) {
      const e = mm.pt.entries[idx];
      if (e & PTE_PRESENT) {
        mm.pt.entries[idx] = 0;
        const pfn = ptePfn(e);
        if (pfn !== mem.zeroPfn) {
          const n = e & PTE_PSE ? 512 : 1;
          if (mem.flags[pfn] & PG_LRU) {
            host.lru.onLru--;
            host.lruGen?.delFolio(pfn);
          } else host.lru.forget(pfn);
          const memcg = host.memcgs.byId(mem.memcgOf(pfn));
          if (memcg !== undefined) memcg.pages -= n;
          mem.freePages(pfn, n === 512 ? 9 : 0);
          mm.rss -= n;
          freed += n;
        }
      }
    }
    va = (Math.floor(vpn / span) + 1) * span * 4096;
  }
  host.mmuNotifier.invalidateRangeEnd(t, range);
  return freed;
}
