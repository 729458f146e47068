/**
 * Models no kernel file: hardware: the DRAM bandwidth of one NUMA node, shared by page zeroing
 * and page-table walks.
 */
/** Width of one bandwidth bucket (ns) and how many buckets the ring remembers (about 4 ms). */
const BUCKET_NS = 1000;
const RING = 4096;

/**
 * The DRAM bandwidth of one NUMA node's memory controllers, shared by every CPU that streams memory
 * there (clear_page zeroing a new page, page-table walks reading tables). A transfer runs no faster
 * than its CPU alone would (`minNs`), and no faster than the bytes the controller has left.
 *
 * Model: a fluid queue. Time is cut into 1 µs buckets that each carry at most bandwidth x 1 µs
 * bytes; a transfer fills the buckets from its issue time on, at most at its CPU's own rate, and
 * ends when its last byte fits. Threads run ahead of each other by a few microseconds, so transfers
 * arrive slightly out of time order; filling capacity per bucket (not a FIFO tail) keeps an early
 * transfer from queueing behind later ones. A transfer older than the ring (4 ms) is not charged.
 */
export class MemoryBandwidth {
  private readonly used = new Float64Array(RING);
  private readonly tag = new Float64Array(RING).fill(-1);
  private readonly capacity: number;
  /** Bytes moved, and time transfers took beyond their CPU's own speed. */
  bytes = 0;
  stallNs = 0;

  constructor(bytesPerNs: number) {
    this.capacity = bytesPerNs * BUCKET_NS;
  }

  /** Moves `bytes` from time `at`, taking at least `minNs`; returns when the transfer ends. */
  transfer(at: number, bytes: number, minNs: number): number {
    this.bytes += bytes;
    if (bytes <= 0 || minNs <= 0) return at + minNs;
    const rate = bytes / minNs;
    const used = this.used;
    const tag = this.tag;
    let t = at;
    let left = bytes;
    for (;;) {
      const b = Math.floor(t / BUCKET_NS);
      const slot = b % RING;
      let free: number;
      if (tag[slot] === b) free = this.capacity - used[slot];
      else if (tag[slot] > b)
        return at + minNs; // older than the ring: not tracked
      else {
        tag[slot] = b;
        used[slot] = 0;
        free = this.capacity;
      }
      const bucketEnd = (b + 1) * BUCKET_NS;
      const take = Math.min(free, rate * (bucketEnd - t), left);
      used[slot] += take;
      left -= take;
      if (left <= 0) {
        // The last bytes go at the CPU's rate from the later of `t` and when this bucket had room.
        const end = Math.max(at + minNs, Math.ceil(t + take / rate));
        this.stallNs += end - (at + minNs);
        return end;
      }
      t = bucketEnd;
    }
  }
}
