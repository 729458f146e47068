/**
 * A swap device: slots holding evicted pages (their content word), a free-slot stack, and counters.
 * Slot 0 is never used, as in the kernel (the swap header).
 */
export class SwapDevice {
  readonly data: Uint32Array;
  /** The folio's tier when it was evicted (the shadow entry's refs), for refault accounting. */
  readonly tier: Uint8Array;
  private readonly free: number[] = [];
  private next = 1;
  swapOuts = 0;
  swapIns = 0;

  constructor(readonly nrSlots: number) {
    this.data = new Uint32Array(nrSlots);
    this.tier = new Uint8Array(nrSlots);
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

  /** swap_free. */
  freeSlot(slot: number): void {
    this.free.push(slot);
  }
}
