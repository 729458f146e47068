/**
 * Models mm/mprotect.c for MM_CP_PROT_NUMA: change_protection → change_pud_range (the MMU-notifier
 * range, MMU_NOTIFY_PROTECTION_VMA) → change_pte_range with its prot_numa skip rules; and
 * change_prot_numa of mm/mempolicy.c, which calls it and counts numa_pte_updates.
 */
import type { SimThread } from '../sim/thread.ts';
import type { MmuNotifierRange } from './mmu-notifier.ts';
import { PG_DIRTY } from './page-flags.ts';
import {
  PAGE_SIZE,
  PMD_SIZE,
  PTE_PRESENT,
  PTE_PSE,
  PTE_WRITE,
  ptePfn,
  ptePresent,
  pteProtnone,
} from './page-table.ts';
import type { Vma } from './vma.ts';

/**
 * change_prot_numa(vma, start, end): make every present PTE of [start, end) PROT_NONE so the next
 * access takes a NUMA hinting fault. The whole range is invalidated in the secondary MMUs first
 * (KVM zaps its SPTEs there, whether or not the PTE then changes), then change_pte_range skips, as
 * the kernel does: PROT_NONE entries already, the zero page (vm_normal_folio is NULL), dirty
 * regular-file folios (MIGRATE_ASYNC cannot move them all), and for a single-threaded mm folios
 * already on the node it runs on (target_node). Huge PMDs (change_huge_pmd) are not modelled: THP
 * and hugetlb VMAs are not scanned. Returns the PTEs updated (numa_pte_updates).
 */
export function changeProtNuma(t: SimThread, vma: Vma, start: number, end: number): number {
  const mm = vma.mm;
  const host = mm.host;
  const nb = host.numaBalancing;
  const p = host.engine.profile;
  const E = mm.pt.entries;
  const mem = host.mem;
  // change_pte_range: target node for single-threaded private VMAs.
  const shared = vma.file !== null;
  const targetNode = !shared && nb !== null && nb.mmUsers === 1 ? host.engine.topology.nodeOf(t.cpu) : -1;
  let range: MmuNotifierRange | null = null;
  let pages = 0;
  let skipped = 0;
  for (let pmdAddr = Math.floor(start / PMD_SIZE) * PMD_SIZE; pmdAddr < end; pmdAddr += PMD_SIZE) {
    const pmdIdx = mm.pt.walk(mm.pgd, Math.floor(pmdAddr / PAGE_SIZE), 2, false);
    if (pmdIdx < 0 || !(E[pmdIdx] & PTE_PRESENT) || E[pmdIdx] & PTE_PSE) continue;
    if (range === null) {
      // change_pud_range starts the invalidation at the first populated entry, for the rest of the range.
      range = { mm, start: Math.max(start, pmdAddr), end, event: 'protection_vma', blockable: true };
      if (nb !== null) {
        nb.stats.invalidations++;
        nb.invalidating = 'change_prot_numa';
      }
      host.mmuNotifier.invalidateRangeStart(t, range);
      if (nb !== null) nb.invalidating = 'other';
    }
    const table = ptePfn(E[pmdIdx]);
    const lo = Math.max(start, pmdAddr);
    const hi = Math.min(end, pmdAddr + PMD_SIZE);
    for (let a = lo; a < hi; a += PAGE_SIZE) {
      const idx = table * 512 + (Math.floor(a / PAGE_SIZE) & 511);
      const e = E[idx];
      t.advance(p.walkPteNs);
      if (!ptePresent(e)) continue;
      const pfn = ptePfn(e);
      if (
        pteProtnone(e) ||
        pfn === mem.zeroPfn ||
        (vma.file !== null && !vma.file.shmem && mem.flags[pfn] & PG_DIRTY) ||
        mem.pfnToNid(pfn) === targetNode
      ) {
        skipped++;
        continue;
      }
      // ptep_modify_prot_start/commit with pte_modify(oldpte, PAGE_NONE): pfn, Accessed and Dirty stay.
      E[idx] = (e & ~(PTE_PRESENT | PTE_WRITE)) >>> 0;
      pages++;
    }
  }
  if (range !== null) {
    // flush_tlb_range for the updated PTEs, then invalidate_range_end.
    if (pages > 0) t.advance(p.tlbFlushBaseNs);
    host.mmuNotifier.invalidateRangeEnd(t, range);
  }
  if (nb !== null) {
    nb.stats.pteUpdates += pages;
    nb.stats.pteSkipped += skipped;
    nb.stats.pagesScanned += Math.ceil((end - start) / PAGE_SIZE);
  }
  return pages;
}
