import { describe, expect, it } from 'vitest';
import { mmioAccess } from '../../testing/mmu-conformance-mmio.ts';
import { runOnVm } from '../../testing/vm-fixture.ts';
import { kvmMmuInvalidateMmioSptes } from './mmio-gen.ts';
import { isMmioSpte } from './mmio-spte.ts';
import { installMmioZapStrategy, MMIO_ZAP_STRATEGIES, type MmioZapCounters } from './mmio-zap-strategies.ts';
import type { ShadowMmu } from './shadow-mmu/shadow-mmu.ts';

/** gfns of 1 GiB apart from 64 GiB: each MMIO gfn gets a level-2 page and an mmio_cached level-1 page. */
const GIB_PAGES = 1 << 18;
function mmioGfn(i: number): number {
  return 64 * GIB_PAGES + i * GIB_PAGES;
}

/** Touches `n` MMIO gfns on a shadow-MMU VM, wraps once with `name`, returns what it counted. */
function wrapWith(name: string, n: number) {
  const strategy = MMIO_ZAP_STRATEGIES.find((s) => s.name === name)!;
  let c: MmioZapCounters | null = null;
  let left = -1;
  let listed = 0;
  runOnVm({ tdpMmu: false }, function* (t, vm) {
    const kvm = vm.kvm;
    c = installMmioZapStrategy(kvm, strategy);
    const v = kvm.vcpus[0];
    for (let i = 0; i < n; i++) expect(yield* mmioAccess(t, v, mmioGfn(i))).toBe('mmio');
    listed = (kvm.mmu as ShadowMmu).activeMmuPages.length;
    expect(yield* kvmMmuInvalidateMmioSptes(t, kvm, 0)).toBe(true);
    // No MMIO SPTE is left where the CPU would find it.
    const pool = kvm.mmu.pool;
    left = 0;
    for (let i = 0; i < n; i++) {
      const idx = pool.walk(v.root!.table, mmioGfn(i));
      if (isMmioSpte(kvm.mmioGen.layout, pool.lo[idx], pool.hi.get(idx))) left++;
    }
  });
  const r = c as unknown as MmioZapCounters;
  return {
    listed,
    left,
    visited: r.pagesVisited,
    restarts: r.restarts,
    mmio: r.mmioSptesZapped,
    pages: r.pagesZapped,
  };
}

describe('MMIO wraparound strategies on the shadow MMU', () => {
  it('every strategy leaves no MMIO SPTE behind; zap-mmio-restart walks quadratically, zap-mmio once', () => {
    // n MMIO gfns: 2n + 2 pages (root, one level-3 page, n level-2 and n level-1 pages), newest
    // first L1_n, L2_n, L1_n-1, ... The restart walk passes k level-2 pages before its (k+1)-th zap:
    // n(n+1)/2 + the final pass over the n + 2 pages left. [visited, restarts, pages zapped].
    const row = (n: number) =>
      MMIO_ZAP_STRATEGIES.map((s) => {
        const r = wrapWith(s.name, n);
        expect([r.listed, r.left, r.mmio]).toEqual([2 * n + 2, 0, n]);
        return [s.name, r.visited, r.restarts, r.pages];
      });
    expect(row(8)).toEqual([
      ['zap-all-pages', 18, 17, 18],
      ['zap-mmio-restart', 46, 8, 8],
      ['zap-mmio', 18, 0, 8],
      ['zap-all', 18, 0, 18],
      ['zap-all-fast', 18, 0, 18],
    ]);
    expect(row(16)).toEqual([
      ['zap-all-pages', 34, 33, 34],
      ['zap-mmio-restart', 154, 16, 16],
      ['zap-mmio', 34, 0, 16],
      ['zap-all', 34, 0, 34],
      ['zap-all-fast', 34, 0, 34],
    ]);
  });
});

describe('MMIO wraparound strategies on the TDP MMU', () => {
  it('only zap-all-fast has a TDP meaning; the others are refused', () => {
    runOnVm({}, function* (_t, vm) {
      const tdp = MMIO_ZAP_STRATEGIES.filter((s) => s.tdp).map((s) => s.name);
      expect(tdp).toEqual(['zap-all-fast']);
      const zapMmio = MMIO_ZAP_STRATEGIES.find((s) => s.name === 'zap-mmio')!;
      expect(() => installMmioZapStrategy(vm.kvm, zapMmio)).toThrow('needs the shadow MMU');
    });
  });
});
