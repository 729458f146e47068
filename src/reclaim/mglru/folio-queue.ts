/**
 * The folios of one generation and type (lrugen->folios[gen][type]) as a deque of pfns. New folios
 * go to the head; eviction takes from the tail. A folio that aging moves to another generation is
 * not unlinked: its entry here goes stale and is dropped when met (its generation field no longer
 * matches), and the queue is emptied when its generation retires. Typed-array ring, no objects.
 */
export class FolioQueue {
  private buf = new Int32Array(64);
  /** Index of the tail (oldest) entry. */
  private tail = 0;
  size = 0;

  /** list_add at the head (youngest end). */
  pushHead(pfn: number): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.tail + this.size) & (this.buf.length - 1)] = pfn;
    this.size++;
  }

  /** list_add_tail: next to be taken (a reclaim putback). */
  pushTail(pfn: number): void {
    if (this.size === this.buf.length) this.grow();
    this.tail = (this.tail - 1) & (this.buf.length - 1);
    this.buf[this.tail] = pfn;
    this.size++;
  }

  /** Takes the tail entry, or -1 when empty. */
  popTail(): number {
    if (this.size === 0) return -1;
    const pfn = this.buf[this.tail];
    this.tail = (this.tail + 1) & (this.buf.length - 1);
    this.size--;
    return pfn;
  }

  clear(): void {
    this.tail = 0;
    this.size = 0;
  }

  private grow(): void {
    const next = new Int32Array(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.tail + i) & (this.buf.length - 1)];
    this.buf = next;
    this.tail = 0;
  }
}
