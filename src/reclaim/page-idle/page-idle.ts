/**
 * Models mm/page_idle.c: /sys/kernel/mm/page_idle/bitmap (page_idle_bitmap_read /
 * page_idle_bitmap_write, page_idle_clear_pte_refs).
 */
import { EINVAL, ENXIO } from '../../fs/errno.ts';
import { kernfsReadCount, PAGE_SIZE } from '../../fs/kernfs.ts';
import type { SimFile } from '../../fs/vfs.ts';
import type { Host } from '../../host/host.ts';
import { PG_IDLE, PG_LRU, PG_TAIL, PG_YOUNG } from '../../host/page-flags.ts';
import { type RmapHit, rmapWalk } from '../../host/rmap.ts';
import { ptepClearYoungNotify } from '../../host/young-notify.ts';
import type { SimThread } from '../../sim/thread.ts';

type Gen<R> = Generator<void, R, void>;

/** Path of the idle bitmap. */
export const PAGE_IDLE_BITMAP = '/sys/kernel/mm/page_idle/bitmap';

/** Counters of idle page tracking. */
export class PageIdleStats {
  /** page_idle_clear_pte_refs calls that walked the rmap. */
  clearRefs = 0;
  /** Of those, folios found young (PG_idle cleared, PG_young set). */
  foundYoung = 0;
  /** Folios marked idle by writes. */
  marked = 0;
}

/**
 * Idle page tracking (mm/page_idle.c): /sys/kernel/mm/page_idle/bitmap, native-endian u64 words
 * indexed by pfn. Only LRU folios take part; the flag lives on the folio's head page.
 */
export class PageIdle implements SimFile {
  readonly mode = 0o600;
  readonly stats = new PageIdleStats();

  private readonly hit: RmapHit = { mm: null as never, addr: 0, entryIdx: 0, size: 0 };
  private referenced = false;

  constructor(readonly host: Host) {}

  /**
   * page_idle_get_folio: the folio of an online LRU page, or -1. Tail pages of large folios are
   * skipped: a large folio is represented by its head pfn only.
   */
  private getFolio(t: SimThread, pfn: number): number {
    t.advance(this.host.engine.profile.pageIdleGetNs);
    const mem = this.host.mem;
    if (pfn < mem.firstPfn || pfn >= mem.maxPfn) return -1;
    const f = mem.flags[pfn];
    return f & PG_LRU && !(f & PG_TAIL) ? pfn : -1;
  }

  /**
   * page_idle_clear_pte_refs: an rmap walk clearing the Accessed bit of every mapping with
   * ptep/pmdp_clear_young_notify (no TLB flush); if any was young, clear PG_idle and set PG_young.
   */
  clearPteRefs(t: SimThread, head: number): void {
    if (this.host.mem.mappingOf(head) === 0) return;
    this.stats.clearRefs++;
    this.referenced = false;
    rmapWalk(t, this.host, head, this.hit, this.clearPteRefsOne);
    if (this.referenced) {
      const f = this.host.mem.flags;
      f[head] = (f[head] & ~PG_IDLE) | PG_YOUNG;
      this.stats.foundYoung++;
    }
  }

  /** page_idle_clear_pte_refs_one: one mapping of the folio. */
  private readonly clearPteRefsOne = (t: SimThread, hit: RmapHit): void => {
    if (ptepClearYoungNotify(t, hit.mm, hit.addr, hit.entryIdx, hit.size)) this.referenced = true;
  };

  /**
   * page_idle_bitmap_read, reached through kernfs (at most PAGE_SIZE bytes) and sysfs_kf_bin_read
   * (an empty read is 0). Past max_pfn the range ends at max_pfn rounded up to a whole word.
   */
  *read(t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    count = kernfsReadCount(count);
    if (count === 0) return new Uint8Array(0);
    if (pos % BITMAP_CHUNK_SIZE !== 0 || count % BITMAP_CHUNK_SIZE !== 0) return -EINVAL;
    const mem = this.host.mem;
    let pfn = pos * 8;
    if (pfn >= mem.maxPfn) return new Uint8Array(0);
    const end = bitmapEndPfn(pfn, count, mem.maxPfn);
    const out = new Uint8Array((end - pfn) / 8);
    for (let bitIdx = 0; pfn < end; pfn++, bitIdx++) {
      const head = this.getFolio(t, pfn);
      if (head < 0 || !(mem.flags[head] & PG_IDLE)) continue;
      // Give way before the rmap walk; the folio may have changed meanwhile.
      if (t.mustSync()) {
        yield;
        if (!(mem.flags[head] & PG_IDLE) || !(mem.flags[head] & PG_LRU)) continue;
      }
      this.clearPteRefs(t, head);
      if (mem.flags[head] & PG_IDLE) out[bitIdx >> 3] |= 1 << (bitIdx & 7);
    }
    return out;
  }

  /**
   * page_idle_bitmap_write through kernfs (cut to PAGE_SIZE) and sysfs_kf_bin_write (an empty
   * write is 0): for each 1 bit, clear the references, then set PG_idle. Returns the bytes of the
   * words walked, the last (partial) word past max_pfn included.
   */
  *write(t: SimThread, pos: number, data: Uint8Array): Gen<number> {
    const count = Math.min(data.length, PAGE_SIZE);
    if (count === 0) return 0;
    if (pos % BITMAP_CHUNK_SIZE !== 0 || count % BITMAP_CHUNK_SIZE !== 0) return -EINVAL;
    const mem = this.host.mem;
    let pfn = pos * 8;
    if (pfn >= mem.maxPfn) return -ENXIO;
    const end = bitmapEndPfn(pfn, count, mem.maxPfn);
    let bitIdx = 0;
    for (; pfn < end; pfn++, bitIdx++) {
      if (!(data[bitIdx >> 3] & (1 << (bitIdx & 7)))) continue;
      if (t.mustSync()) yield;
      const head = this.getFolio(t, pfn);
      if (head < 0) continue;
      this.clearPteRefs(t, head);
      mem.flags[head] |= PG_IDLE;
      this.stats.marked++;
    }
    return bitIdx / 8;
  }
}

/** BITMAP_CHUNK_SIZE: the bitmap is read and written in u64 words. */
const BITMAP_CHUNK_SIZE = 8;
/** BITMAP_CHUNK_BITS. */
const BITMAP_CHUNK_BITS = 64;

/** The end pfn of a bitmap access of `count` bytes from `pfn`: past max_pfn, ALIGN(max_pfn, 64). */
export function bitmapEndPfn(pfn: number, count: number, maxPfn: number): number {
  const end = pfn + count * 8;
  return end > maxPfn ? Math.ceil(maxPfn / BITMAP_CHUNK_BITS) * BITMAP_CHUNK_BITS : end;
}
