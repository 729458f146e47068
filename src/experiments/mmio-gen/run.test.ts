import { describe, expect, it } from 'vitest';
import { resolveMmioGenOptions } from './options.ts';
import { runMmioGenAll } from './run.ts';

/** The counters that say how a strategy's wrap scales, per strategy. */
function counters(pages: number) {
  const o = resolveMmioGenOptions({ pages, vcpus: 2, vcpuBytes: 2 << 20 });
  return Object.fromEntries(
    runMmioGenAll(o).map((r) => [r.strategy, [r.wraps, r.pagesVisited, r.restarts, r.mmioSptesZapped]]),
  );
}

describe('mmulab mmio-gen (seed 001 wraparound strategies on the shadow MMU)', () => {
  it('one wrap each; the restart walk grows as n(n+1)/2 in the n mmio_cached pages, the others as 2n', () => {
    // n MMIO gfns, one per GiB: n level-1 mmio_cached pages and their n level-2 parents, plus the
    // same 7 pages at every n (the root and the RAM side's tables of the 2 x 2 MiB memstress VM).
    for (const n of [8, 16]) {
      const quad = (n * (n + 1)) / 2 + n + 7;
      expect(counters(n)).toEqual({
        'zap-all-pages': [1, 2 * n + 7, 2 * n + 6, n],
        'zap-mmio-restart': [1, quad, n, n],
        'zap-mmio': [1, 2 * n + 7, 0, n],
        'zap-all': [1, 2 * n + 7, 0, n],
        'zap-all-fast': [1, 2 * n + 7, 0, n],
      });
    }
  });

  it("pins the simulated cost of each strategy's wrap at 8 MMIO pages (golden: a cost change shows here)", () => {
    const o = resolveMmioGenOptions({ pages: 8, vcpus: 2, vcpuBytes: 2 << 20 });
    const rows = runMmioGenAll(o).map((r) => [
      r.strategy,
      r.writeHoldNsPerWrap,
      r.vcpuStallNs,
      r.refaults,
      r.pagesZapped,
      r.sptesZapped,
      r.simulatedNs,
    ]);
    // The MMIO-only walks zap the 8 mmio_cached pages; the others every page, so the vCPUs
    // refault their RAM (1024 SPTEs) and stall behind the longer write hold. Either stall holds
    // a pcp refill that nr_pcp_alloc has scaled up by then (one batch per refill: 8 373 ns).
    expect(rows).toEqual([
      ['zap-all-pages', 76074, 173076, 143, 23, 1024, 102033000],
      ['zap-mmio-restart', 4878, 23009, 8, 8, 0, 102033000],
      ['zap-mmio', 4654, 23009, 8, 8, 0, 102033000],
      ['zap-all', 76074, 173076, 143, 23, 1024, 102033000],
      ['zap-all-fast', 76074, 173076, 143, 23, 1024, 102033000],
    ]);
  });
});
