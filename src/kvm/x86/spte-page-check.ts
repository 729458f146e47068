/**
 * Models no single kernel file: a check a debug kernel makes piecemeal (KVM_MMU_WARN_ON in
 * arch/x86/kvm/mmu/spte.c and tdp_mmu.c, page poisoning of freed pages): no leaf SPTE of either MMU
 * may map a host frame that was freed. Device pfns (no struct page) and reserved frames are skipped.
 */
import { PG_ALLOCATED, PG_RESERVED } from '../../host/page-flags.ts';
import type { Kvm } from '../kvm.ts';
import { isLastSpte, isShadowPresent, sptePfn } from './spte.ts';
import { pagesPerLevel } from './tdp-mmu/spte-pool.ts';

/**
 * Walks every page-table page of the VM's MMU and reports (PageRefs.report, kind
 * 'spte-maps-freed') each leaf that maps a freed frame, or one put_page freed under its owner.
 * Returns the number of such leaves.
 */
export function checkSptesMapLivePages(kvm: Kvm): number {
  const pool = kvm.mmu.pool;
  const mem = kvm.host.mem;
  const refs = mem.refs;
  let bad = 0;
  for (let table = 0; table < pool.level.length; table++) {
    const level = pool.level[table];
    if (level === 0) continue;
    for (let i = table * 512; i < table * 512 + 512; i++) {
      const lo = pool.lo[i];
      if (!isShadowPresent(lo) || !isLastSpte(lo, level)) continue;
      const first = sptePfn(lo, pool.hi.get(i));
      for (let pfn = first; pfn < first + pagesPerLevel(level); pfn++) {
        if (!refs.pfnValid(pfn)) break;
        const f = mem.flags[pfn];
        if (f & PG_RESERVED || (f & PG_ALLOCATED && !refs.freedInUse.has(pfn))) continue;
        refs.report('spte-maps-freed', pfn, `a level-${level} SPTE maps pfn ${pfn}, which was freed`);
        bad++;
        break;
      }
    }
  }
  return bad;
}
