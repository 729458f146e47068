/**
 * Models include/linux/mm_inline.h and the lru_gen_* calls of mm/swap.c, mm/workingset.c and
 * mm/migrate.c: the multi-gen LRU's hooks as the core mm calls them. The host knows MGLRU only
 * through this interface; reclaim/mglru implements it.
 */
import type { ShadowEntries } from './shadow.ts';

/** What the core mm calls into the multi-gen LRU for (`Host.lruGen`, null while it is off). */
export interface LruGenHooks {
  /** lru_gen_inc_refs: folio_mark_accessed's MGLRU half. */
  lruGenIncRefs(pfn: number): void;
  /** folio_isolate_lru for MGLRU: takes the folio off its generation list (migration). */
  isolateFolio(pfn: number): void;
  /** folio_migrate_refs: the new folio takes over the old one's refs field. */
  folioMigrateRefs(from: number, to: number): void;
  /** lru_gen_del_folio: the folio leaves its list (zap, free). */
  delFolio(pfn: number): void;
  /** lru_gen_refault: a refaulting folio's shadow entry is judged before it goes on the LRU. */
  onRefault(pfn: number, shadow: ShadowEntries, slot: number): void;
}
