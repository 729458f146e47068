import { describe, expect, it } from 'vitest';
import { PCP_BATCH_SCALE_MAX, type PcpZone, PerCpuPages, pcpListRoom, zoneHighsize } from './pcp.ts';

const BATCH = 63;

function zone(highMax: number, belowHigh = false, reclaimActive = false): PcpZone {
  return { highMin: zoneHighsize(0, 112, BATCH), highMax, belowHigh, reclaimActive };
}

/** The refill sizes of `n` refills into an empty list, with no free in between. */
function refills(pcp: PerCpuPages, z: PcpZone, n: number): number[] {
  return Array.from({ length: n }, () => pcp.nrPcpAlloc(0, 0, z));
}

/** Frees pages one at a time onto a list that starts with `count` pages; returns each spill's size. */
function spills(pcp: PerCpuPages, z: PcpZone, frees: number, count = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < frees; i++) {
    count++;
    const n = pcp.freeUnrefPageCommit(0, count, z);
    if (n > 0) {
      out.push(n);
      count -= n;
    }
  }
  return out;
}

describe('per-CPU page lists (mm/page_alloc.c nr_pcp_alloc, nr_pcp_high, nr_pcp_free)', () => {
  it('zone_highsize: the pages split over the node CPUs, at least four batches', () => {
    expect(zoneHighsize(77_000, 112, BATCH)).toBe(687);
    expect(zoneHighsize(1000, 112, BATCH)).toBe(BATCH << 2);
  });

  it('room for every list at its largest refill: 32 batches a CPU', () => {
    expect(pcpListRoom(224, BATCH)).toBe(224 * 2016);
  });

  it('before 6.7: one batch per refill, and a spill of one batch when the list reaches 6 batches', () => {
    const pcp = new PerCpuPages(1, BATCH, false);
    expect(refills(pcp, zone(1170), 4)).toEqual([63, 63, 63, 63]);
    // The first spill at 378 pages, then one every 63 frees.
    expect(spills(pcp, zone(1170), 378 + 5 * 63)).toEqual([63, 63, 63, 63, 63, 63]);
  });

  it('6.7: consecutive refills double the batch up to batch << CONFIG_PCP_BATCH_SCALE_MAX', () => {
    const pcp = new PerCpuPages(1, BATCH, true);
    expect(refills(pcp, zone(100_000), 8)).toEqual([63, 126, 252, 504, 1008, 2016, 2016, 2016]);
    expect(pcp.allocFactor[0]).toBe(PCP_BATCH_SCALE_MAX);
    // pcp->high grew by each batch: 252 + 63 + 126 + ... + 2016 x 3.
    expect(pcp.high[0]).toBe(252 + 63 + 126 + 252 + 504 + 1008 + 2016 * 3);
  });

  it('6.7: a refill never brings the list above pcp->high less a batch (high_max of a small zone)', () => {
    const pcp = new PerCpuPages(1, BATCH, true);
    // high 315, 441, 693, then high_max 1170: max_nr_alloc = 1170 - 63 from the fifth refill on.
    expect(refills(pcp, zone(1170), 7)).toEqual([63, 126, 252, 504, 1008, 1107, 1107]);
    expect(pcp.high[0]).toBe(1170);
  });

  it('6.7: a free halves alloc_factor, an allocation halves free_count', () => {
    const pcp = new PerCpuPages(1, BATCH, true);
    refills(pcp, zone(100_000), 5);
    expect(pcp.allocFactor[0]).toBe(5);
    pcp.freeUnrefPageCommit(0, 1, zone(100_000));
    expect(pcp.allocFactor[0]).toBe(2);
    pcp.freeUnrefPageCommit(0, 2, zone(100_000));
    expect(pcp.freeCount[0]).toBe(2);
    pcp.allocated(0);
    expect(pcp.freeCount[0]).toBe(1);
  });

  it('6.7: a run of frees raises pcp->high to free_count + batch and spills longer runs, leaving a batch', () => {
    const pcp = new PerCpuPages(1, BATCH, true);
    // high 252: spill min(252, 252 - 63); then high 315, 567, 1071, and high_max 1170.
    expect(spills(pcp, zone(1170), 252 + 252 + 504 + 1008 + 1107)).toEqual([189, 252, 504, 1008, 1107]);
    expect(pcp.high[0]).toBe(1170);
    expect(pcp.freeCount[0]).toBe(BATCH << PCP_BATCH_SCALE_MAX);
  });

  it('6.7, free pages below the high watermark: high shrinks and every free at high_min or above spills', () => {
    const pcp = new PerCpuPages(1, BATCH, true);
    refills(pcp, zone(100_000), 3);
    expect(pcp.high[0]).toBe(693);
    // A refill does not grow pcp->high while ZONE_BELOW_HIGH is set.
    expect(pcp.nrPcpAlloc(0, 0, zone(100_000, true))).toBe(504);
    expect(pcp.high[0]).toBe(693);
    // The first free: high - max(free_count 1, batch); the list (300) is above high_min (252).
    expect(pcp.freeUnrefPageCommit(0, 300, zone(100_000, true))).toBe(63);
    expect(pcp.high[0]).toBe(630);
    // Below high_min nothing is spilled.
    expect(pcp.freeUnrefPageCommit(0, 200, zone(100_000, true))).toBe(0);
  });

  it('6.7, kswapd balancing the node: a list holds at most 4 batches', () => {
    const pcp = new PerCpuPages(1, BATCH, true);
    refills(pcp, zone(100_000), 5);
    expect(pcp.high[0]).toBe(252 + 63 + 126 + 252 + 504 + 1008);
    // high less max(free_count, batch), and the limit min(batch << 2, high): 252 pages.
    expect(pcp.freeUnrefPageCommit(0, 251, zone(100_000, false, true))).toBe(0);
    expect(pcp.high[0]).toBe(252 + 126 + 252 + 504 + 1008);
    expect(pcp.freeUnrefPageCommit(0, 252, zone(100_000, false, true))).toBe(BATCH);
  });
});
