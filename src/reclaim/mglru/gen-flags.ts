import { PG_REFERENCED } from '../../host/page-flags.ts';

/**
 * MGLRU fields in folio->flags (include/linux/mm_inline.h, mmzone.h), kept in `PhysMem.flags`:
 * the generation field holds gen+1 while the folio is on an MGLRU list (0 otherwise), and the refs
 * field counts accesses through file descriptors beyond the first (which sets PG_referenced).
 */
export const LRU_GEN_PGOFF = 13;
/** order_base_2(MAX_NR_GENS + 1) = 3 bits. */
export const LRU_GEN_MASK = 7 << LRU_GEN_PGOFF;
export const LRU_REFS_PGOFF = 16;
/** MAX_NR_TIERS - 2 = 2 bits. */
export const LRU_REFS_WIDTH = 2;
export const LRU_REFS_MASK = 3 << LRU_REFS_PGOFF;
/** LRU_REFS_MASK | BIT(PG_referenced). */
export const LRU_REFS_FLAGS = LRU_REFS_MASK | PG_REFERENCED;

/** folio_lru_gen: the generation slot, or -1 when the folio is not on an MGLRU list. */
export function folioLruGen(flags: number): number {
  return ((flags & LRU_GEN_MASK) >>> LRU_GEN_PGOFF) - 1;
}

/** Flags with the generation field set to `gen` (or cleared with -1). */
export function withGen(flags: number, gen: number): number {
  return ((flags & ~LRU_GEN_MASK) | ((gen + 1) << LRU_GEN_PGOFF)) >>> 0;
}

/** folio_lru_refs: 0 without PG_referenced, else the refs field + 1. */
export function folioLruRefs(flags: number): number {
  return flags & PG_REFERENCED ? ((flags & LRU_REFS_MASK) >>> LRU_REFS_PGOFF) + 1 : 0;
}

/** lru_tier_from_refs: tier 3 for workingset folios, else order_base_2(refs). */
export function lruTierFromRefs(refs: number, workingset: boolean): number {
  if (workingset) return 3;
  return refs <= 1 ? 0 : refs === 2 ? 1 : 2;
}
