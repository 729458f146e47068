import type { SimThread } from '../sim/thread.ts';

/**
 * A swap device: slots holding evicted pages (their content word), a free-slot stack, and counters.
 * Slot 0 is never used, as in the kernel (the swap header).
 */
export class SwapDevice {
  readonly data: Uint32Array;
  /**
   * The shadow entry left by an eviction (pack_shadow in mm/workingset.c): the evicting lruvec's
   * memcg id and node, the token's sequence (min_seq at eviction) and its refs (max(refs - 1, 0)),
   * and whether the folio had PG_workingset.
   */
  readonly shadowMemcg: Uint16Array;
  readonly shadowNid: Uint8Array;
  readonly shadowSeq: Uint32Array;
  /** Bits 0-1: the token's refs; bit 2: workingset. */
  readonly shadowRefs: Uint8Array;
  private readonly free: number[] = [];
  private next = 1;
  swapOuts = 0;
  swapIns = 0;
  /** Until when the device is busy transferring (its bandwidth is shared by every I/O). */
  private busyUntil = 0;
  /** Nanoseconds I/Os waited for the device to be free. */
  queuedNs = 0;

  constructor(readonly nrSlots: number) {
    this.data = new Uint32Array(nrSlots);
    this.shadowMemcg = new Uint16Array(nrSlots);
    this.shadowNid = new Uint8Array(nrSlots);
    this.shadowSeq = new Uint32Array(nrSlots);
    this.shadowRefs = new Uint8Array(nrSlots);
  }

  /** Free slots. */
  get freeSlots(): number {
    return this.nrSlots - this.next + this.free.length;
  }

  /** get_swap_page: a free slot, or -1 when the device is full. */
  allocSlot(): number {
    const s = this.free.pop();
    if (s !== undefined) return s;
    return this.next < this.nrSlots ? this.next++ : -1;
  }

  /**
   * One 4 KiB I/O by `t` (swap_writepage or swap_read_folio, waited for): it queues behind the
   * transfers already booked, occupies the device for `transferNs`, and completes `latencyNs` after
   * it starts. A reservation, like the locks: I/Os issued out of time order are served in issue order.
   */
  io(t: SimThread, latencyNs: number, transferNs: number): void {
    const start = Math.max(t.now, this.busyUntil);
    this.queuedNs += start - t.now;
    this.busyUntil = start + transferNs;
    t.now = start + Math.max(latencyNs, transferNs);
  }

  /** swap_free. */
  freeSlot(slot: number): void {
    this.free.push(slot);
  }
}
