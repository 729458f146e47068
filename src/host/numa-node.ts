/**
 * Models include/linux/mmzone.h's struct zone (one per NUMA node here) as mm/page_alloc.c uses it:
 * the free lists under zone->lock, the watermarks (__setup_per_zone_wmarks) and the bounds of the
 * per-CPU lists' pcp->high (zone_set_pageset_high_and_batch).
 */
import type { Engine } from '../sim/engine.ts';
import { SpinLock } from '../sync/spinlock.ts';
import { MemoryBandwidth } from './mem-bandwidth.ts';
import { MIN_PERCPU_PAGELIST_HIGH_FRACTION, type PcpZone, zoneHighsize } from './pcp.ts';

/** One NUMA node: a pfn range with its zone lock and free lists (orders 0 and 9). */
export class NumaNode implements PcpZone {
  /** zone->lock, taken to refill per-CPU lists and for large allocations. */
  readonly zoneLock: SpinLock;
  /** The node's DRAM bandwidth, shared by page zeroing and page-table walks on it. */
  readonly bandwidth: MemoryBandwidth;
  /** Next never-allocated pfn (the free space above it is one block). */
  next: number;
  readonly free0: number[] = [];
  readonly free9: number[] = [];
  allocated = 0;
  /** Watermarks in pages (__setup_per_zone_wmarks with min_free_kbytes for this node alone). */
  readonly wmarkMin: number;
  readonly wmarkLow: number;
  readonly wmarkHigh: number;
  readonly highMin: number;
  readonly highMax: number;
  belowHigh = false;
  reclaimActive = false;

  constructor(
    engine: Engine,
    readonly nid: number,
    readonly startPfn: number,
    readonly endPfn: number,
  ) {
    this.zoneLock = new SpinLock(engine, `zone${nid}.lock`, 'zone->lock');
    this.bandwidth = new MemoryBandwidth(engine.profile.memBandwidthBytesPerNs);
    this.next = startPfn;
    // calculate_min_free_kbytes: sqrt(lowmem_kbytes * 16), within [128 KiB, 256 MiB]; then
    // watermark_scale_factor 10: low = min + max(min / 4, managed * 10 / 10000), high = min + 2 x that.
    const managed = endPfn - startPfn;
    const minFreeKb = Math.min(Math.max(Math.floor(Math.sqrt(managed * 4 * 16)), 128), 262144);
    this.wmarkMin = Math.floor(minFreeKb / 4);
    const delta = Math.max(this.wmarkMin >> 2, Math.floor((managed * 10) / 10000));
    this.wmarkLow = this.wmarkMin + delta;
    this.wmarkHigh = this.wmarkMin + 2 * delta;
    // zone_set_pageset_high_and_batch: pcp->high_min from the low watermark, high_max from 1/8 of
    // the zone, each split over the node's CPUs.
    // A node without CPUs splits over every CPU, as zone_highsize does.
    const batch = engine.profile.pcpBatch;
    const cpus = engine.topology.cpusOn(nid) || engine.cpuCount;
    this.highMin = zoneHighsize(this.wmarkLow, cpus, batch);
    this.highMax = zoneHighsize(Math.floor(managed / MIN_PERCPU_PAGELIST_HIGH_FRACTION), cpus, batch);
  }

  /** NR_FREE_PAGES of the node (pages on per-CPU lists count as allocated, as in the kernel). */
  freePages(): number {
    return this.endPfn - this.startPfn - this.allocated;
  }

  /** Takes one free block of 2^order pages without locking (the caller holds zoneLock). */
  take(order: number): number {
    if (order === 0) {
      if (this.free0.length > 0) return this.free0.pop()!;
      if (this.next < this.endPfn) return this.next++;
      const big = this.free9.pop();
      if (big === undefined) return -1;
      for (let i = 511; i >= 1; i--) this.free0.push(big + i);
      return big;
    }
    if (this.free9.length > 0) return this.free9.pop()!;
    const start = Math.ceil(this.next / 512) * 512;
    if (start + 512 > this.endPfn) return -1;
    while (this.next < start) this.free0.push(this.next++);
    this.next = start + 512;
    return start;
  }
}
