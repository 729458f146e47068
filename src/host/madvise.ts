/**
 * Models mm/madvise.c: madvise(MADV_DONTNEED) on anonymous memory (madviseDontneed), which
 * zaps the range as zap_page_range_single of mm/memory.c does.
 */
import type { SimThread } from '../sim/thread.ts';
import { UnchargeGather } from './memcg-charge.ts';
import type { Mm } from './mm.ts';
import { lruDelFolio, zapPte } from './zap.ts';

/**
 * madvise(MADV_DONTNEED) on anonymous memory (zap_page_range_single): invalidate the secondary MMUs
 * (MMU_NOTIFY_CLEAR), clear the PTEs of [start, end) and free the folios they mapped, then end the
 * invalidation. A PMD leaf partly inside the range is zapped whole (splitting is not modelled).
 * The folios are freed at once, without the allocator's or the LRU's locks (munmap.ts models
 * release_pages and free_unref_page), and uncharged per folio batch. Returns the number of pages
 * freed.
 */
export function madviseDontneed(t: SimThread, mm: Mm, start: number, end: number): number {
  const host = mm.host;
  const range = { mm, start, end, event: 'clear' as const, blockable: true };
  host.mmuNotifier.invalidateRangeStart(t, range);
  const zapped = { pages: 0 };
  const ug = new UnchargeGather(host.memcgCharge, host.lru.batchSize);
  let freed = 0;
  for (let va = start; va < end; ) {
    const vpn = Math.floor(va / 4096);
    const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
    t.advance(host.engine.profile.ptWalkLevelNs * 4);
    const level = idx < 0 ? 1 : mm.pt.hitLevel;
    const span = level === 2 ? 512 : 1;
    const pfn = idx < 0 ? -1 : zapPte(mm, idx, zapped);
    if (pfn >= 0) {
      lruDelFolio(host, pfn);
      ug.add(t, host.mem.memcgOf(pfn), zapped.pages);
      host.mem.freePages(pfn, zapped.pages === 512 ? 9 : 0);
      freed += zapped.pages;
    }
    va = (Math.floor(vpn / span) + 1) * span * 4096;
  }
  ug.flush(t);
  host.mmuNotifier.invalidateRangeEnd(t, range);
  return freed;
}
