/** Link value of a frame on no list. */
const NONE = -1;

/**
 * The `lru` list_head of every frame (struct folio's lru field), as two typed arrays indexed by
 * pfn, and the lists threaded through them. A frame is on at most one list; taking it off is O(1)
 * from the frame alone (list_del), as when a folio is freed while on an LRU list.
 *
 * Encoding: `newer[pfn]` is the next frame towards the list's head, or -(2 + list id) when the frame
 * is the head; `older[pfn]` likewise towards the tail; both are -1 when the frame is on no list.
 */
export class LruLinks {
  readonly newer: Int32Array;
  readonly older: Int32Array;
  private readonly lists: FolioList[] = [];

  constructor(frames: number) {
    this.newer = new Int32Array(frames).fill(NONE);
    this.older = new Int32Array(frames).fill(NONE);
  }

  /** A new empty list (INIT_LIST_HEAD). */
  newList(): FolioList {
    const l = new FolioList(this, -(2 + this.lists.length));
    this.lists.push(l);
    return l;
  }

  /** Whether `pfn` is on a list. */
  linked(pfn: number): boolean {
    return this.newer[pfn] !== NONE;
  }

  /** list_del_init: takes `pfn` off its list, if it is on one. */
  unlink(pfn: number): void {
    const n = this.newer[pfn];
    if (n === NONE) return;
    const o = this.older[pfn];
    if (n >= 0) this.older[n] = o;
    else this.lists[-n - 2].head = o >= 0 ? o : NONE;
    if (o >= 0) this.newer[o] = n;
    else this.lists[-o - 2].tail = n >= 0 ? n : NONE;
    this.newer[pfn] = NONE;
    this.older[pfn] = NONE;
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

  /** list_move to the head: takes `pfn` off any list first. */
  pushHead(pfn: number): void {
    const L = this.links;
    L.unlink(pfn);
    L.newer[pfn] = this.code;
    if (this.head === NONE) {
      L.older[pfn] = this.code;
      this.tail = pfn;
    } else {
      L.older[pfn] = this.head;
      L.newer[this.head] = pfn;
    }
    this.head = pfn;
  }

  /** list_move_tail: next to be taken. */
  pushTail(pfn: number): void {
    const L = this.links;
    L.unlink(pfn);
    L.older[pfn] = this.code;
    if (this.tail === NONE) {
      L.newer[pfn] = this.code;
      this.head = pfn;
    } else {
      L.newer[pfn] = this.tail;
      L.older[this.tail] = pfn;
    }
    this.tail = pfn;
  }

  /** Takes the tail (oldest) frame off the list, or returns -1 when it is empty. */
  popTail(): number {
    const pfn = this.tail;
    if (pfn !== NONE) this.links.unlink(pfn);
    return pfn;
  }
}
