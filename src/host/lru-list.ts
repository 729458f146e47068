/**
 * Models include/linux/list.h on folio->lru as MGLRU uses it: list_add (pushHead), list_add_tail
 * (pushTail), list_del_init (unlink), list_empty.
 */
/** Bytes of LRU links per frame. */
export const LRU_LINK_BYTES = 4;

/** Link value of a frame on no list. */
const NONE = -1;

/**
 * The `lru` links of every frame, one 32-bit word per pfn, and the lists threaded through them.
 *
 * The kernel's folio->lru is a doubly linked list_head (16 bytes). The model keeps one link, towards
 * the list's head, which is all that MGLRU's list operations need: folios are added at the head or
 * the tail (lru_gen_add_folio, list_move / list_move_tail after a scan) and taken off only at the
 * tail (scan_folios, inc_min_seq), because a promotion changes the generation in the folio flags and
 * leaves the folio where it is until a scan sorts it (folio_update_gen, sort_folio). Taking a frame
 * off the middle (list_del when a folio is freed while on the LRU) walks its list: rare in the model
 * (madvise), and O(list length) there.
 *
 * Encoding: `next[pfn]` is the next frame towards the head, -(2 + list id) at the head, -1 when the
 * frame is on no list.
 */
export class LruLinks {
  readonly next: Int32Array;
  private readonly lists: FolioList[] = [];

  constructor(frames: number) {
    this.next = new Int32Array(frames).fill(NONE);
  }

  /** A new empty list (INIT_LIST_HEAD). */
  newList(): FolioList {
    const l = new FolioList(this, -(2 + this.lists.length));
    this.lists.push(l);
    return l;
  }

  /** Whether `pfn` is on a list. */
  linked(pfn: number): boolean {
    return this.next[pfn] !== NONE;
  }

  /**
   * list_del_init: takes `pfn` off its list, if it is on one. Finds the list at the head end of the
   * frame's chain, then the frame's predecessor from the tail: O(list length).
   */
  unlink(pfn: number): void {
    const N = this.next;
    if (N[pfn] === NONE) return;
    let end = N[pfn];
    while (end >= 0) end = N[end];
    const list = this.lists[-end - 2];
    if (list.tail === pfn) {
      list.popTail();
      return;
    }
    let prev = list.tail;
    while (N[prev] !== pfn) prev = N[prev];
    N[prev] = N[pfn];
    if (list.head === pfn) list.head = prev;
    N[pfn] = NONE;
  }
}

/**
 * One list of frames (lrugen->folios[gen][type][zone]): the head is the youngest end (list_add),
 * the tail the oldest (list_add_tail; eviction and aging take from there).
 */
export class FolioList {
  head = NONE;
  tail = NONE;

  constructor(
    private readonly links: LruLinks,
    private readonly code: number,
  ) {}

  /** list_empty. */
  get empty(): boolean {
    return this.tail === NONE;
  }

  /** list_add: `pfn`, which must be on no list, becomes the head. */
  pushHead(pfn: number): void {
    const N = this.links.next;
    if (N[pfn] !== NONE) throw new Error(`pfn ${pfn} is already on an LRU list`);
    N[pfn] = this.code;
    if (this.head === NONE) this.tail = pfn;
    else N[this.head] = pfn;
    this.head = pfn;
  }

  /** list_add_tail: `pfn`, which must be on no list, is the next to be taken. */
  pushTail(pfn: number): void {
    const N = this.links.next;
    if (N[pfn] !== NONE) throw new Error(`pfn ${pfn} is already on an LRU list`);
    if (this.tail === NONE) {
      N[pfn] = this.code;
      this.head = pfn;
    } else N[pfn] = this.tail;
    this.tail = pfn;
  }

  /** Takes the tail (oldest) frame off the list, or returns -1 when it is empty. */
  popTail(): number {
    const pfn = this.tail;
    if (pfn === NONE) return NONE;
    const N = this.links.next;
    const n = N[pfn];
    if (n >= 0) this.tail = n;
    else this.head = this.tail = NONE;
    N[pfn] = NONE;
    return pfn;
  }
}
