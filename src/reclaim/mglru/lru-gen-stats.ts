/**
 * The counters of the multi-gen LRU (mm/vmscan.c): what aging and eviction did, and the refaults
 * mm/workingset.c saw (WORKINGSET_REFAULT).
 */

/** Counters of the multi-gen LRU. */
export class LruGenStats {
  foliosAdded = 0;
  agingPasses = 0;
  /** Folios moved to the youngest generation by aging (folio_update_gen). */
  promoted = 0;
  /** Young folios given a second chance instead (PG_referenced set, not moved). */
  secondChance = 0;
  /** Folios moved out of the oldest generation by inc_min_seq. */
  protectedMoves = 0;
}

/** Counters of eviction. */
export class EvictionStats {
  scanned = 0;
  isolated = 0;
  /** Folios found referenced at eviction time and put back. */
  referenced = 0;
  /** Folios written to swap and freed. */
  reclaimed = 0;
  /** Folios that could not be evicted (no swap slot, large folio). */
  kept = 0;
  /** Evicted pages faulted back in (WORKINGSET_REFAULT). */
  refaults = 0;
  /** Of those, recent ones (lru_gen_test_recent), counted in the tiers' refaulted[]. */
  recentRefaults = 0;
}
