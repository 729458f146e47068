/**
 * Models struct lru_gen_mm_walk (include/linux/mmzone.h) and the batching of generation sizes by
 * the aging walk in mm/vmscan.c: update_batch_size and reset_batch_size.
 */
import type { SimThread } from '../../sim/thread.ts';
import { LRU_GEN_ANON, LRU_GEN_FILE, type Lruvec, MAX_NR_GENS } from './lruvec.ts';

/**
 * struct lru_gen_mm_walk: one aging walker. The walk changes folio generations in the folios'
 * flags at once (folio_update_gen) but only counts the size moves in `nrPages`; reset_batch_size
 * applies them to the lruvec under lru_lock after each round of walk_mm. Until then the lruvec's
 * generation sizes still count the promoted folios in their old generations.
 */
export class LruGenMmWalk {
  /** mm_stats[MM_*] of this walk. */
  readonly mmStats = new Float64Array(4);
  /** Clear-young calls made (for the trace's walk_mm_end). */
  clearYoungCalls = 0;
  /** Where the next round of walk_mm resumes its walk_page_range. */
  nextAddr = 0;
  /** Folios whose generation moved since the last reset_batch_size. */
  batched = 0;
  /** nr_pages[gen][type] (one zone) as [gen * 2 + type]: size moves not yet applied. */
  readonly nrPages = new Float64Array(MAX_NR_GENS * 2);

  constructor(
    readonly lruvec: Lruvec,
    /** Snapshot of max_seq. */
    readonly seq: number,
    readonly swappiness: number,
    readonly forceScan: boolean,
  ) {}

  /** update_batch_size: a folio of `pages` pages and `type` moved from `oldGen` to `newGen`. */
  updateBatchSize(type: number, pages: number, oldGen: number, newGen: number): void {
    this.batched++;
    this.nrPages[oldGen * 2 + type] -= pages;
    this.nrPages[newGen * 2 + type] += pages;
  }

  /**
   * reset_batch_size (caller holds lru_lock): adds the batched moves to lrugen->nr_pages (the
   * active/inactive LRU sizes follow from them in this model) and empties the batch; its loop over
   * every generation, type and zone and the __update_lru_size calls cost `resetBatchSizeNs`.
   */
  resetBatchSize(t: SimThread): void {
    t.advance(t.engine.profile.resetBatchSizeNs);
    this.batched = 0;
    const l = this.lruvec;
    for (let gen = 0; gen < MAX_NR_GENS; gen++) {
      for (const type of [LRU_GEN_ANON, LRU_GEN_FILE]) {
        const i = gen * 2 + type;
        const delta = this.nrPages[i];
        if (delta === 0) continue;
        this.nrPages[i] = 0;
        l.nrPages[i] += delta;
      }
    }
  }
}
