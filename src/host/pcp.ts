/**
 * Models mm/page_alloc.c's per-CPU page lists (struct per_cpu_pages) for order-0 pages: how many
 * pages a refill takes from the zone (nr_pcp_alloc), when a free spills pages back and how many
 * (free_unref_page_commit, nr_pcp_high, nr_pcp_free), and pcp->high between high_min and high_max
 * (zone_highsize), as Linux 6.7 tunes them ("mm: PCP high auto-tuning", Huang Ying). Kernels
 * before 6.7 (the will-it-scale references' 4.16 and 5.13) move one fixed batch each way and spill
 * at 6 batches (`autoTune` false).
 */

/** CONFIG_PCP_BATCH_SCALE_MAX (mm/Kconfig, default 5): a batch scales up to batch << 5 pages. */
export const PCP_BATCH_SCALE_MAX = 5;
/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: high_max is this fraction of the zone's managed pages. */
export const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;
/**
 * pcp->high in pcp batches before 5.14: zone_set_pageset_high_and_batch sets high = 6 x batch (5.14
 * sizes it from the zone's low watermark, 6.7 tunes it at run time: `autoTune`).
 */
export const PCP_HIGH_BATCHES = 6;

/**
 * Pages the per-CPU lists of `cpus` CPUs may hold at most at once, for sizing a simulated host:
 * one largest refill each (batch << CONFIG_PCP_BATCH_SCALE_MAX), more than the 6 batches (plus one
 * being spilled) of kernels before 6.7.
 */
export function pcpListRoom(cpus: number, batch: number): number {
  return cpus * (batch << PCP_BATCH_SCALE_MAX);
}

/** What the per-CPU lists need to know of the zone a CPU allocates from and frees to. */
export interface PcpZone {
  /** zone_highsize(..., 0): the low watermark split over the node's CPUs, at least 4 batches. */
  readonly highMin: number;
  /** zone_highsize(..., MIN_PERCPU_PAGELIST_HIGH_FRACTION): managed / 8 split over the node's CPUs. */
  readonly highMax: number;
  /** ZONE_BELOW_HIGH: an allocation found the zone's free pages below its high watermark. */
  belowHigh: boolean;
  /** ZONE_RECLAIM_ACTIVE: kswapd is balancing the node (balance_pgdat). */
  reclaimActive: boolean;
}

/**
 * zone_highsize: `totalPages` split over the `nodeCpus` CPUs local to the zone, at least batch << 2.
 * So pcp->high is never below 4 batches, and the kernel's cases for a high below one batch (boot
 * pagesets, a disabled pcp) do not arise here.
 */
export function zoneHighsize(totalPages: number, nodeCpus: number, batch: number): number {
  return Math.max(Math.floor(totalPages / Math.max(1, nodeCpus)), batch << 2);
}

/**
 * The tuning state of every CPU's list (pcp->high, pcp->alloc_factor, pcp->free_count), as typed
 * arrays indexed by CPU; the lists themselves stay with the allocator.
 */
export class PerCpuPages {
  /** pcp->high: pages a list may hold before a free spills some to the zone. */
  readonly high: Int32Array;
  /** pcp->alloc_factor: consecutive refills without a free double the batch, up to PCP_BATCH_SCALE_MAX. */
  readonly allocFactor: Uint8Array;
  /** pcp->free_count: consecutive frees, halved by each allocation; sizes the spill. */
  readonly freeCount: Int32Array;
  constructor(
    cpus: number,
    /** pcp->batch (zone_batchsize: 63 for zones of 1 GiB and more). */
    readonly batch: number,
    /** 6.7's auto-tuning; false: a fixed batch each way and high = PCP_HIGH_BATCHES batches. */
    public autoTune: boolean,
  ) {
    this.high = new Int32Array(cpus);
    this.allocFactor = new Uint8Array(cpus);
    this.freeCount = new Int32Array(cpus);
  }

  /** rmqueue_pcplist: an allocation from `cpu`'s list halves its run of frees. */
  allocated(cpu: number): void {
    this.freeCount[cpu] >>= 1;
  }

  /** nr_pcp_alloc (order 0): pages to move from `zone` to `cpu`'s list of `count` pages. */
  nrPcpAlloc(cpu: number, count: number, zone: PcpZone): number {
    const base = this.batch;
    if (!this.autoTune) return base;
    let high = this.clampHigh(cpu, zone);
    const batch = base << this.allocFactor[cpu];
    if (zone.highMin !== zone.highMax && !zone.belowHigh) {
      high = Math.min(high + batch, zone.highMax);
      this.high[cpu] = high;
    }
    const maxNrAlloc = Math.max(high - count - base, base);
    if (batch <= maxNrAlloc && this.allocFactor[cpu] < PCP_BATCH_SCALE_MAX) this.allocFactor[cpu]++;
    return Math.min(batch, maxNrAlloc);
  }

  /**
   * free_unref_page_commit (order 0) after the page joined `cpu`'s list, now `count` pages: how many
   * of its oldest pages go back to the zone (free_pcppages_bulk), 0 for none.
   */
  freeUnrefPageCommit(cpu: number, count: number, zone: PcpZone): number {
    const batch = this.batch;
    if (!this.autoTune) return count >= PCP_HIGH_BATCHES * batch ? batch : 0;
    this.allocFactor[cpu] >>= 1;
    if (this.freeCount[cpu] < batch << PCP_BATCH_SCALE_MAX) this.freeCount[cpu]++;
    const high = this.nrPcpHigh(cpu, count, zone);
    if (count < high) return 0;
    return this.nrPcpFree(cpu, high);
  }

  /** nr_pcp_high (order 0): the list's limit now, adjusting pcp->high. */
  private nrPcpHigh(cpu: number, count: number, zone: PcpZone): number {
    const high = this.clampHigh(cpu, zone);
    const batch = this.batch;
    if (zone.reclaimActive) {
      this.high[cpu] = Math.max(high - Math.max(this.freeCount[cpu], batch), zone.highMin);
      return Math.min(batch << 2, this.high[cpu]);
    }
    if (zone.highMin === zone.highMax) return high;
    if (zone.belowHigh) {
      this.high[cpu] = Math.max(high - Math.max(this.freeCount[cpu], batch), zone.highMin);
      return Math.max(count, zone.highMin);
    }
    if (count >= high) {
      const needHigh = this.freeCount[cpu] + batch;
      if (high < needHigh) this.high[cpu] = Math.min(Math.max(needHigh, zone.highMin), zone.highMax);
    }
    return high;
  }

  /** nr_pcp_free (order 0): the run of frees, leaving at least one batch on the list. */
  private nrPcpFree(cpu: number, high: number): number {
    const batch = this.batch;
    return Math.min(Math.max(this.freeCount[cpu], batch), high - batch);
  }

  /** pcp->high = clamp(pcp->high, high_min, high_max), as every reader of it does first. */
  private clampHigh(cpu: number, zone: PcpZone): number {
    const high = Math.min(Math.max(this.high[cpu], zone.highMin), zone.highMax);
    this.high[cpu] = high;
    return high;
  }
}
