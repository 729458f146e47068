/**
 * Models mm/swap.c: folio_mark_accessed (folioMarkAccessed) with lru_gen_inc_refs, the two ways a
 * folio is marked accessed depending on whether the multi-gen LRU is enabled.
 */
import type { Host } from './host.ts';
import { PG_ACTIVE, PG_IDLE, PG_REFERENCED, PG_TAIL } from './page-flags.ts';

/** What folio_mark_accessed did, for event trails. */
export const MARK_ACCESSED_REFERENCED = 0;
/** Classic LRU: the folio was referenced already and is activated (PG_active, PG_referenced cleared). */
export const MARK_ACCESSED_ACTIVATED = 1;
/** MGLRU: lru_gen_inc_refs set PG_referenced or counted one more reference; PG_idle untouched. */
export const MARK_ACCESSED_LRU_GEN_REFS = 2;

/**
 * folio_mark_accessed (mm/swap.c) on the folio of `pfn`.
 *
 * With lru_gen enabled it is lru_gen_inc_refs and returns: an unevictable folio is left alone;
 * otherwise the first call sets PG_referenced with refs 0, later calls count refs up to
 * LRU_REFS_MASK, then set PG_workingset. It does NOT clear PG_idle: the early return skips the
 * folio_clear_idle at the end of the function.
 *
 * Without it: inactive,unreferenced → inactive,referenced; inactive,referenced → active,
 * unreferenced (folio_activate, or PG_active set while the folio waits in an LRU-add batch: the
 * model keeps no classic LRU lists, only the flags); then PG_idle is cleared.
 *
 * Returns one of MARK_ACCESSED_*.
 */
export function folioMarkAccessed(host: Host, pfn: number): number {
  const flags = host.mem.flags;
  const head = flags[pfn] & PG_TAIL ? pfn - (pfn % 512) : pfn;
  const f = flags[head];
  if (host.lruGen !== null) {
    host.lruGen.lruGenIncRefs(head);
    return MARK_ACCESSED_LRU_GEN_REFS;
  }
  let r = MARK_ACCESSED_REFERENCED;
  if (!(f & PG_REFERENCED)) flags[head] = f | PG_REFERENCED;
  else if (!(f & PG_ACTIVE)) {
    flags[head] = (f | PG_ACTIVE) & ~PG_REFERENCED;
    r = MARK_ACCESSED_ACTIVATED;
  }
  flags[head] &= ~PG_IDLE;
  return r;
}
