/**
 * Models arch/x86/kvm/mmu/mmu.c: host_pfn_mapping_level (hostPfnMappingLevel), the lockless walk
 * of the host page tables that finds the size of the host leaf mapping an hva;
 * __kvm_mmu_max_mapping_level (kvmMmuMaxMappingLevel) with the memslot's lpage_info; and the level
 * and pfn kvm_mmu_hugepage_adjust picks from them (kvmMmuHugepageAdjust).
 */
import type { Mm } from '../../host/mm.ts';
import { PAGE_SIZE, PTE_PRESENT, PTE_PSE, ptePfn, ptIndex } from '../../host/page-table.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { Kvm } from '../kvm.ts';
import { gfnToHvaMemslot, type KvmMemorySlot } from '../memslots.ts';
import { pagesPerLevel } from './tdp-mmu/spte-pool.ts';

/** PG_LEVEL_4K, PG_LEVEL_2M, PG_LEVEL_1G (arch/x86/include/asm/pgtable_types.h). */
export const PG_LEVEL_4K = 1;
export const PG_LEVEL_2M = 2;
export const PG_LEVEL_1G = 3;

/**
 * max_huge_page_level: PG_LEVEL_1G, as kvm_configure_mmu sets it on an EPT CPU with 1 GiB pages
 * (cpu_has_vmx_ept_1g_page) or a host with X86_FEATURE_GBPAGES.
 */
export const MAX_HUGE_PAGE_LEVEL = PG_LEVEL_1G;

/**
 * host_pfn_mapping_level: with IRQs off (so page tables cannot be freed under it), READ_ONCE the
 * PGD, P4D (folded), PUD and PMD entries for `hva` and return PG_LEVEL_1G for a PUD leaf,
 * PG_LEVEL_2M for a PMD leaf, else PG_LEVEL_4K. The host PTE itself is not read. Each entry read is
 * charged `ptWalkLevelNs` (one level of a host page-table walk, a cache hit: GUP or
 * follow_pfnmap_start walked the same entries just before).
 */
export function hostPfnMappingLevel(t: SimThread, mm: Mm, hva: number): number {
  const e = mm.pt.entries;
  const vpn = Math.floor(hva / PAGE_SIZE);
  const walkNs = mm.host.engine.profile.ptWalkLevelNs;
  let table = mm.pgd;
  for (let level = 4; level >= 2; level--) {
    const entry = e[table * 512 + ptIndex(vpn, level)];
    t.advance(walkNs);
    if (!(entry & PTE_PRESENT)) return PG_LEVEL_4K;
    if (level < 4 && entry & PTE_PSE) return level === 3 ? PG_LEVEL_1G : PG_LEVEL_2M;
    table = ptePfn(entry);
  }
  return PG_LEVEL_4K;
}

/**
 * lpage_info_slot(gfn, slot, level)->disallow_lpage: a huge page at `level` would cross the slot's
 * first or last gfn, or the slot's gfns and its userspace addresses are not equally aligned
 * (kvm_arch_create_memslot's lpage_info setup).
 */
export function disallowLpage(slot: KvmMemorySlot, gfn: number, level: number): boolean {
  const span = pagesPerLevel(level);
  const base = Math.floor(gfn / span) * span;
  if (base < slot.baseGfn || base + span > slot.baseGfn + slot.npages) return true;
  return (slot.userspaceAddr / PAGE_SIZE - slot.baseGfn) % span !== 0;
}

/**
 * __kvm_mmu_max_mapping_level for a shared gfn: the largest level up to `maxLevel` (and
 * max_huge_page_level) the memslot allows, then no larger than host_pfn_mapping_level, or than
 * `hostLevel` when the converged walk already found it (not in any kernel: no second walk).
 */
export function kvmMmuMaxMappingLevel(
  t: SimThread,
  kvm: Kvm,
  slot: KvmMemorySlot,
  gfn: number,
  maxLevel = MAX_HUGE_PAGE_LEVEL,
  hostLevel = 0,
): number {
  let level = Math.min(maxLevel, MAX_HUGE_PAGE_LEVEL);
  while (level > PG_LEVEL_4K && disallowLpage(slot, gfn, level)) level--;
  if (level === PG_LEVEL_4K) return PG_LEVEL_4K;
  const host = hostLevel > 0 ? hostLevel : hostPfnMappingLevel(t, kvm.mm, gfnToHvaMemslot(slot, gfn));
  return Math.min(host, level);
}

/**
 * kvm_mmu_hugepage_adjust: the goal level of the fault (req_level) and the pfn aligned down to it
 * (`hostLevel`: the converged walk's level, or 0)
 * (fault->pfn &= ~mask, after VM_BUG_ON((gfn & mask) != (pfn & mask))). Returns the level; the
 * aligned pfn goes to `out.pfn`.
 */
export function kvmMmuHugepageAdjust(
  t: SimThread,
  kvm: Kvm,
  slot: KvmMemorySlot,
  gfn: number,
  pfn: number,
  out: { pfn: number },
  hostLevel = 0,
): number {
  const level = kvmMmuMaxMappingLevel(t, kvm, slot, gfn, MAX_HUGE_PAGE_LEVEL, hostLevel);
  const span = pagesPerLevel(level);
  if (gfn % span !== pfn % span)
    throw new Error(
      `kvm_mmu_hugepage_adjust: gfn 0x${gfn.toString(16)} and pfn 0x${pfn.toString(16)} are not aligned alike`,
    );
  out.pfn = pfn - (pfn % span);
  return level;
}
