/** Models no kernel file: the text output of `mmulab mmio-gen` (per-strategy table and sweep). */
import type { MmioGenRunOptions } from './options.ts';
import type { MmioGenResult } from './run.ts';

const us = (ns: number) => (ns / 1000).toFixed(1);

/** "a memslot", or how many take turns. */
function toggled(o: MmioGenRunOptions): string {
  const n = o.scenario.memslots.filter((m) => m.toggle).length;
  return n === 1 ? 'a memslot' : `${n} memslots in turn`;
}

/** One line per strategy: wraps and what each cost. */
export function formatMmioGen(o: MmioGenRunOptions, rs: readonly MmioGenResult[]): string {
  const head = [
    `# mmulab mmio-gen: ${o.vcpus} vCPU(s) x ${o.vcpuBytes >> 20} MiB memstress, ${rs[0]?.pages ?? o.pages} MMIO gfns (one per GiB), --mmu ${o.mmu}`,
    `# VMM toggles ${toggled(o)}: ${o.updates} updates at ${o.rate}/s, start generation ${o.startGen}; simulated`,
    'strategy          wraps  hold/wrap(us)  pages-visited  restarts  sptes-zapped  mmio-zapped  vcpu-stall(us)  refaults',
  ];
  const rows = rs.map(
    (r) =>
      `${r.strategy.padEnd(17)} ${String(r.wraps).padStart(5)}  ${us(r.writeHoldNsPerWrap).padStart(13)}  ${String(r.pagesVisited).padStart(13)}  ${String(r.restarts).padStart(8)}  ${String(r.sptesZapped).padStart(12)}  ${String(r.mmioSptesZapped).padStart(11)}  ${us(r.vcpuStallNs).padStart(14)}  ${String(r.refaults).padStart(8)}`,
  );
  return `${[...head, ...rows].join('\n')}\n`;
}

/**
 * The sweep: per strategy and number of MMIO pages, pages visited and write-hold per wrap, and the
 * growth exponent of pages visited between neighbouring sizes (log ratio of visited over log ratio
 * of pages: ~1 linear, ~2 quadratic).
 */
export function formatMmioGenSweep(o: MmioGenRunOptions, rs: readonly MmioGenResult[]): string {
  const head = [
    `# mmulab mmio-gen --sweep-pages ${(o.sweepPages ?? []).join(',')}: --mmu ${o.mmu}, ${o.vcpus} vCPU(s), start generation ${o.startGen}; simulated`,
    'strategy          mmio-pages  pages-visited  restarts  hold/wrap(us)  growth',
  ];
  const rows: string[] = [];
  let prev: MmioGenResult | null = null;
  for (const r of rs) {
    const growth =
      prev !== null && prev.strategy === r.strategy && prev.pagesVisited > 0
        ? (Math.log(r.pagesVisited / prev.pagesVisited) / Math.log(r.pages / prev.pages)).toFixed(2)
        : '-';
    rows.push(
      `${r.strategy.padEnd(17)} ${String(r.pages).padStart(10)}  ${String(r.pagesVisited).padStart(13)}  ${String(r.restarts).padStart(8)}  ${us(r.writeHoldNsPerWrap).padStart(13)}  ${growth.padStart(6)}`,
    );
    prev = r;
  }
  return `${[...head, ...rows].join('\n')}\n`;
}
