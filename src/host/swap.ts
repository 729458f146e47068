/**
 * Models a swap device: slot allocation and swap_free of mm/swapfile.c, and the I/O of
 * swap_writepage / swap_read_folio (mm/page_io.c) on a device of limited bandwidth.
 */
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import { ShadowEntries } from './shadow.ts';

/**
 * A swap device: slots holding evicted pages (their content word), a free-slot stack, and counters.
 * Slot 0 is never used, as in the kernel (the swap header).
 */
export class SwapDevice {
  readonly data: Uint32Array;
  /** The shadow entries of evicted pages, by slot. */
  readonly shadow: ShadowEntries;
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
    this.shadow = new ShadowEntries(nrSlots);
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
    t.until(CAT.io, start + Math.max(latencyNs, transferNs));
  }

  /** swap_free. */
  freeSlot(slot: number): void {
    this.free.push(slot);
  }
}
