/**
 * Models include/linux/page_ref.h and the reference helpers of include/linux/mm.h: page and folio
 * reference counts (get_page, put_page, get_page_unless_zero, folio_try_get, folio_put), with what a
 * CONFIG_DEBUG_VM kernel reports when they are misused, kept as errors with an event trail instead
 * of a VM_BUG_ON.
 *
 * The count of a frame is one Int32 per pfn. The allocator sets the first page of a block to 1
 * (set_page_refcounted) and leaves the others at 0: in a compound folio (PG_TAIL set) references go
 * to the head through page_folio(); in a driver's non-compound higher-order block the tail pages are
 * pages of their own with refcount 0, the "non-refcounted" pages of seed 002. Frames below the first
 * node and the zero page keep 1 (__init_single_page's init_page_count, never freed).
 *
 * Simplification: the owner of a folio (its page-table mappings and page-cache entry together)
 * holds one reference, the allocation's; references taken by GUP and KVM come on top. When the owner
 * frees a folio that someone else still holds, the frame stays allocated until the last put_page
 * (`orphans`), as __folio_put would free it then.
 */
import { PG_TAIL } from './page-flags.ts';

/** Recent reference events kept for error reports (a global ring). */
export const REF_TRAIL_EVENTS = 64;

/** What happened to a count, for the event trail. */
export const REF_OPS = [
  'alloc',
  'get_page',
  'put_page',
  'try_get',
  'try_get failed',
  'free',
  'owner freed',
] as const;
export type RefOp = (typeof REF_OPS)[number];

/** One event of the trail: `count` is the folio's count after it. */
export interface RefEvent {
  seq: number;
  pfn: number;
  op: RefOp;
  count: number;
}

/** What a debug kernel reports, as the model records it. */
export type RefErrorKind = 'get-on-zero' | 'put-underflow' | 'freed-in-use' | 'spte-maps-freed';

/** A recorded refcount error with the events on its pfn that led to it. */
export interface RefError {
  kind: RefErrorKind;
  pfn: number;
  message: string;
  trail: RefEvent[];
}

/** Page reference counts of the host's frames (struct page's _refcount), by pfn. */
export class PageRefs {
  readonly count: Int32Array;
  readonly errors: RefError[] = [];
  /** References taken (get_page, successful try_get) and dropped (put_page) since boot. */
  taken = 0;
  dropped = 0;
  /** Folios their owner freed while others held references: pfn → order. */
  readonly orphans = new Map<number, number>();
  /** Frames put_page dropped to 0 while their owner still used them (a use-after-free). */
  readonly freedInUse = new Set<number>();
  /** __free_pages for an orphan whose last reference went (set by PhysMem). */
  freeOrphan: (pfn: number, order: number) => void = () => {};
  private seq = 0;
  private readonly ringPfn = new Int32Array(REF_TRAIL_EVENTS);
  private readonly ringOp = new Uint8Array(REF_TRAIL_EVENTS);
  private readonly ringCount = new Int32Array(REF_TRAIL_EVENTS);

  constructor(
    frames: number,
    private readonly flags: Uint32Array,
  ) {
    this.count = new Int32Array(frames);
  }

  /** pfn_valid: the pfn has a struct page (device memory above RAM has none). */
  pfnValid(pfn: number): boolean {
    return pfn >= 0 && pfn < this.count.length;
  }

  /** page_folio: the head of the compound folio holding `pfn`, or `pfn` itself. */
  folioOf(pfn: number): number {
    return this.flags[pfn] & PG_TAIL ? pfn - (pfn % 512) : pfn;
  }

  private log(pfn: number, op: RefOp, count: number): void {
    const i = this.seq++ % REF_TRAIL_EVENTS;
    this.ringPfn[i] = pfn;
    this.ringOp[i] = REF_OPS.indexOf(op);
    this.ringCount[i] = count;
  }

  /** The ring's events on `pfn`, oldest first. */
  trail(pfn: number): RefEvent[] {
    const out: RefEvent[] = [];
    for (let s = Math.max(0, this.seq - REF_TRAIL_EVENTS); s < this.seq; s++) {
      const i = s % REF_TRAIL_EVENTS;
      if (this.ringPfn[i] === pfn)
        out.push({ seq: s, pfn, op: REF_OPS[this.ringOp[i]], count: this.ringCount[i] });
    }
    return out;
  }

  /** Records an error found by a check outside this file (an SPTE mapping a freed frame). */
  report(kind: RefErrorKind, pfn: number, message: string): void {
    this.errors.push({ kind, pfn, message, trail: this.trail(pfn) });
  }

  /** The allocator hands out a block: set_page_refcounted on its first page. */
  setRefcounted(pfn: number, pages: number): void {
    for (let i = pfn + 1; i < pfn + pages; i++)
      if (this.count[i] !== 0)
        this.report('put-underflow', i, `pfn ${i} allocated with refcount ${this.count[i]}`);
    this.count[pfn] = 1;
    this.log(pfn, 'alloc', 1);
  }

  /** The frame goes back to the allocator (its count is 0 from now on). */
  cleared(pfn: number): void {
    if (this.count[pfn] !== 0) this.log(pfn, 'free', 0);
    this.count[pfn] = 0;
  }

  /**
   * The owner frees the folio at `pfn` (the model's free sites): drops the owner's reference.
   * Returns true when it was the last one and the frames may go back now; otherwise the folio is
   * kept as an orphan until put_page drops the last reference.
   */
  ownerPut(pfn: number, order: number): boolean {
    const c = --this.count[pfn];
    this.log(pfn, 'owner freed', c);
    if (c <= 0) {
      this.count[pfn] = 0;
      return true;
    }
    this.orphans.set(pfn, order);
    return false;
  }

  /** get_page (folio_get): VM_BUG_ON_FOLIO(folio_ref_zero_or_close_to_overflow) if it was 0. */
  getPage(pfn: number): void {
    const f = this.folioOf(pfn);
    const c = ++this.count[f];
    this.taken++;
    this.log(f, 'get_page', c);
    if (c <= 1)
      this.report(
        'get-on-zero',
        f,
        `get_page on pfn ${f} with refcount 0 (VM_BUG_ON_FOLIO: page_ref_zero_or_close_to_overflow)`,
      );
  }

  /** get_page_unless_zero (page_ref_add_unless(page, 1, 0)) on the page itself, not its folio. */
  getPageUnlessZero(pfn: number): boolean {
    return this.tryGet(pfn);
  }

  /** folio_try_get on page_folio(pfn), as fast GUP grabs a folio. */
  folioTryGet(pfn: number): boolean {
    return this.tryGet(this.folioOf(pfn));
  }

  private tryGet(p: number): boolean {
    if (this.count[p] <= 0) {
      this.log(p, 'try_get failed', this.count[p]);
      return false;
    }
    const c = ++this.count[p];
    this.taken++;
    this.log(p, 'try_get', c);
    return true;
  }

  /**
   * put_page (folio_put): VM_BUG_ON_FOLIO(folio_ref_count(folio) == 0) is recorded and the count
   * left at 0. At 0 the folio is freed: an orphan goes back to the allocator; a folio its owner still
   * uses is recorded as freed under it.
   */
  putPage(pfn: number): void {
    const f = this.folioOf(pfn);
    if (this.count[f] <= 0) {
      this.log(f, 'put_page', this.count[f]);
      this.report(
        'put-underflow',
        f,
        `put_page on pfn ${f} with refcount 0 (VM_BUG_ON_FOLIO: refcount underflow)`,
      );
      return;
    }
    const c = --this.count[f];
    this.dropped++;
    this.log(f, 'put_page', c);
    if (c !== 0) return;
    const order = this.orphans.get(f);
    if (order !== undefined) {
      this.orphans.delete(f);
      this.freeOrphan(f, order);
      return;
    }
    this.freedInUse.add(f);
    this.report(
      'freed-in-use',
      f,
      `put_page dropped the last reference of pfn ${f}, which its owner still uses`,
    );
  }
}
