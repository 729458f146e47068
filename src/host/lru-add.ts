/**
 * Models mm/swap.c: the per-CPU LRU batches, folio_add_lru (add), folio_batch_move_lru (drain)
 * and lru_add_drain_all (drainAll).
 */
import type { SimThread } from '../sim/thread.ts';
import { SpinLock } from '../sync/spinlock.ts';
import type { Host } from './host.ts';
import { PG_HEAD, PG_LRU } from './page-flags.ts';

/**
 * PAGEVEC_SIZE (include/linux/pagevec.h): folios a folio_batch holds, 31 since 6.9 ("31 pointers +
 * header align the folio_batch structure to a power of two").
 */
export const PAGEVEC_SIZE = 31;
/** PAGEVEC_SIZE before 6.9: 15 (the kernels of the will-it-scale references, 4.16 and 5.13). */
export const PAGEVEC_SIZE_PRE_6_9 = 15;

/** Map key of the lruvec of memcg `memcgId` on node `nid`. */
export function lruvecKey(memcgId: number, nid: number): number {
  return memcgId * 1024 + nid;
}

/**
 * Per-CPU LRU addition batches (mm/swap.c: folio_add_lru, lru_add_drain): a new folio waits in its
 * CPU's batch, and only when the batch fills is it moved onto the LRU under lru_lock and gets PG_lru.
 * Until then page_idle ignores it, as the selftest's comment says.
 */
export class LruAddBatches {
  private readonly batches: number[][] = [];
  /** lruvec->lru_lock of each lruvec (memcg id x node), created on first use. */
  private readonly locks = new Map<number, SpinLock>();
  /** Folios on the LRU. */
  onLru = 0;
  /** Folios a per-CPU batch holds before it drains: the simulated kernel's PAGEVEC_SIZE. */
  batchSize = PAGEVEC_SIZE;
  /** Hook run for each folio as it reaches the LRU (MGLRU places it in a generation). */
  onAdd: ((t: SimThread, pfn: number) => void) | null = null;

  constructor(readonly host: Host) {
    for (let c = 0; c < host.engine.cpuCount; c++) this.batches.push([]);
  }

  /**
   * folio_add_lru: queue the folio on this CPU's batch; drain the batch when it is full or the folio
   * is large (__folio_batch_add_and_move moves large folios at once).
   */
  add(t: SimThread, pfn: number): void {
    const p = this.host.engine.profile;
    const b = this.batches[t.cpu];
    b.push(pfn);
    t.advance(p.lruAddNs);
    if (b.length >= this.batchSize || this.host.mem.flags[pfn] & PG_HEAD) this.drain(t, b);
  }

  /** The lru_lock of the lruvec of memcg `memcgId` on node `nid` (mem_cgroup_lruvec). */
  lruLock(memcgId: number, nid: number): SpinLock {
    const k = lruvecKey(memcgId, nid);
    let l = this.locks.get(k);
    if (l === undefined) {
      l = new SpinLock(this.host.engine, `lruvec${memcgId}.${nid}.lru_lock`, 'lruvec->lru_lock');
      this.locks.set(k, l);
    }
    return l;
  }

  /**
   * folio_batch_move_lru: each folio under its own lruvec's lock (folio_lruvec_relock_irqsave takes
   * a new lock only when the lruvec changes), `lruMoveFolioNs` for each folio under the lock.
   */
  private drain(t: SimThread, b: number[]): void {
    const mem = this.host.mem;
    const folioNs = this.host.engine.profile.lruMoveFolioNs;
    let i = 0;
    while (i < b.length) {
      const memcg = mem.memcgOf(b[i]);
      const nid = mem.pfnToNid(b[i]);
      let j = i + 1;
      while (j < b.length && mem.memcgOf(b[j]) === memcg && mem.pfnToNid(b[j]) === nid) j++;
      const lock = this.lruLock(memcg, nid);
      lock.lock(t);
      t.advance(folioNs * (j - i));
      for (let k = i; k < j; k++) {
        mem.flags[b[k]] |= PG_LRU;
        this.onLru++;
        this.onAdd?.(t, b[k]);
      }
      lock.unlock(t);
      i = j;
    }
    b.length = 0;
  }

  /** lru_add_drain_all. */
  drainAll(t: SimThread): void {
    for (const b of this.batches) if (b.length > 0) this.drain(t, b);
  }

  /**
   * A folio freed while it waits in a CPU's batch. In the kernel the batch's reference keeps it
   * until the drain moves it to the LRU and puts it (freeing it there); the model frees the frame at
   * once, so the batch forgets it, and a later drain cannot put a freed (or reused) frame on the LRU.
   */
  forget(pfn: number): void {
    for (const b of this.batches) {
      const i = b.indexOf(pfn);
      if (i >= 0) {
        b.splice(i, 1);
        return;
      }
    }
  }

  /** Folios still waiting in per-CPU batches. */
  get pending(): number {
    let n = 0;
    for (const b of this.batches) n += b.length;
    return n;
  }
}
