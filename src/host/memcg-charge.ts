/**
 * Models the shared-memory traffic of memcg charging: try_charge_memcg with the per-CPU charge
 * stock (consume_stock, refill_stock, drain_stock) and uncharge_batch of mm/memcontrol.c, and
 * page_counter_try_charge / page_counter_uncharge of mm/page_counter.c on `memcg->memory`.
 *
 * A charge of n pages is taken from the CPU's stock when the stock caches that memcg and holds n
 * pages: per-CPU data, no shared line. Otherwise `max(MEMCG_CHARGE_BATCH, n)` pages are charged up
 * the hierarchy, root included (the root's page_counter is the parent of its children's): at each
 * level an atomic add on `usage` (a cache line of its own, include/linux/page_counter.h), then
 * propagate_protected_usage's read of `min_usage`/`low_usage` (the root skips it) and the read and
 * store of `watermark` while usage grows, which share the counter's second line: a load then a
 * store. The surplus goes to the stock; a stock caching another memcg is drained (uncharged) first,
 * and a stock above the batch is drained. The root memcg is never charged (try_charge).
 *
 * Frees uncharge through an uncharge gather per folio batch (folios_put_refs and shrink_folio_list
 * call mem_cgroup_uncharge_folios once per batch): one atomic subtract on `usage` per level per
 * run of folios of one memcg. Not modelled: the loads of the protection line on uncharge (a load
 * leaves a shared copy; the model's lines track owners, not sharers), memory.high checks (reads of
 * lines this CPU just wrote), and the memcg's per-CPU statistics (memcg_rstat_updated's shared
 * atomic stops once the pending updates exceed MEMCG_CHARGE_BATCH per CPU, a few milliseconds into
 * a populate, until the next flush). `Memcg.pages` stays the count of charged frames that
 * memory.max is checked against: the stock's surplus is not in it.
 */
import type { CacheLine } from '../sim/cache-line.ts';
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import type { Memcg, MemcgTree } from './memcg.ts';

/** MEMCG_CHARGE_BATCH (include/linux/memcontrol.h): pages a stock refill charges at once. */
export const MEMCG_CHARGE_BATCH = 64;

/** The cache lines of one memcg's `memory` page_counter and its usage as the kernel counts it. */
class PageCounterLines {
  /** page_counter->usage: charged pages, the stocks' surplus included. */
  usage = 0;
  watermark = 0;
  constructor(
    readonly usageLine: CacheLine,
    /** The line of min_usage, low_usage and watermark. */
    readonly protLine: CacheLine,
  ) {}
}

/** What charging did, for reports. */
export class MemcgChargeStats {
  /** Charges taken from the CPU's stock. */
  stockHits = 0;
  /** Charges that went to the page_counters (a refill of the stock, or a charge above the batch). */
  counterCharges = 0;
  /** Stocks drained (another memcg's pages, or more than the batch). */
  stockDrains = 0;
  /** uncharge_batch calls. */
  uncharges = 0;
}

/** The host's memcg charging: per-CPU stocks and per-memcg page_counter lines. */
export class MemcgCharge {
  readonly stats = new MemcgChargeStats();
  /** memcg_stock_pcp of each CPU: the cached memcg's id (0: none) and its pages. */
  private readonly stockMemcg: Int32Array;
  private readonly stockPages: Int32Array;
  private readonly counters = new Map<number, PageCounterLines>();

  constructor(
    readonly engine: Engine,
    readonly memcgs: MemcgTree,
  ) {
    const n = engine.cpuCount;
    this.stockMemcg = new Int32Array(n);
    this.stockPages = new Int32Array(n);
  }

  /** The page_counter lines of `memcg`, made on first use. */
  private counter(memcg: Memcg): PageCounterLines {
    let c = this.counters.get(memcg.id);
    if (c === undefined) {
      const e = this.engine;
      c = new PageCounterLines(
        e.sharedLine(`memcg${memcg.id}.memory.usage`, 'memcg->memory.usage'),
        e.sharedLine(`memcg${memcg.id}.memory.watermark`, 'memcg->memory.watermark'),
      );
      this.counters.set(memcg.id, c);
    }
    return c;
  }

  /** page_counter_try_charge (no limit: memory.max is checked by the caller on `Memcg.pages`). */
  private counterCharge(t: SimThread, memcg: Memcg, n: number): void {
    for (let m: Memcg | null = memcg; m !== null; m = m.parent) {
      const c = this.counter(m);
      c.usageLine.rmwBy(t);
      c.usage += n;
      if (c.usage > c.watermark) {
        c.watermark = c.usage;
        c.protLine.loadStoreBy(t);
      }
    }
  }

  /** page_counter_uncharge: page_counter_cancel at each level. */
  private counterUncharge(t: SimThread, memcg: Memcg, n: number): void {
    for (let m: Memcg | null = memcg; m !== null; m = m.parent) {
      const c = this.counter(m);
      c.usageLine.rmwBy(t);
      c.usage -= n;
    }
  }

  /** drain_stock: give the stock's pages back to its memcg. */
  private drainStock(t: SimThread, cpu: number): void {
    const id = this.stockMemcg[cpu];
    const pages = this.stockPages[cpu];
    if (id !== 0 && pages > 0) {
      this.counterUncharge(t, this.memcgs.byId(id)!, pages);
      this.stats.stockDrains++;
    }
    this.stockMemcg[cpu] = 0;
    this.stockPages[cpu] = 0;
  }

  /** try_charge: charge `n` pages of a new folio to `memcg` on the running thread's CPU. */
  charge(t: SimThread, memcg: Memcg, n: number): void {
    if (memcg.parent === null) return;
    const cpu = t.cpu;
    if (n <= MEMCG_CHARGE_BATCH && this.stockMemcg[cpu] === memcg.id && this.stockPages[cpu] >= n) {
      this.stockPages[cpu] -= n;
      this.stats.stockHits++;
      return;
    }
    const batch = Math.max(MEMCG_CHARGE_BATCH, n);
    this.counterCharge(t, memcg, batch);
    this.stats.counterCharges++;
    if (batch > n) {
      // refill_stock
      if (this.stockMemcg[cpu] !== memcg.id) {
        this.drainStock(t, cpu);
        this.stockMemcg[cpu] = memcg.id;
      }
      this.stockPages[cpu] += batch - n;
      if (this.stockPages[cpu] > MEMCG_CHARGE_BATCH) this.drainStock(t, cpu);
    }
  }

  /**
   * uncharge_batch: `pages` pages of memcg `memcgId` freed in one batch by the running thread
   * (a memcg that is not charged, the root, costs nothing).
   */
  unchargeBatch(t: SimThread, memcgId: number, pages: number): void {
    const memcg = this.memcgs.byId(memcgId);
    if (memcg === undefined || memcg.parent === null || pages === 0) return;
    this.counterUncharge(t, memcg, pages);
    this.stats.uncharges++;
  }
}

/**
 * struct uncharge_gather of one batch of frees (mem_cgroup_uncharge_folios): folios of one memcg
 * accumulate; a folio of another memcg, and the end of the batch, uncharge what was gathered.
 */
export class UnchargeGather {
  private memcgId = 0;
  private pages = 0;
  private folios = 0;

  constructor(
    readonly charge: MemcgCharge,
    /** Folios per batch of frees: the simulated kernel's PAGEVEC_SIZE. */
    readonly batchFolios: number,
  ) {}

  /**
   * uncharge_folio: a folio of `n` pages charged to memcg `memcgId` is freed; a full batch is
   * uncharged (mem_cgroup_uncharge_folios before free_unref_folios).
   */
  add(t: SimThread, memcgId: number, n: number): void {
    if (memcgId !== this.memcgId) this.unchargeGathered(t);
    this.memcgId = memcgId;
    this.pages += n;
    if (++this.folios >= this.batchFolios) this.flush(t);
  }

  /** The end of a batch of frees: uncharge_batch of what was gathered. */
  flush(t: SimThread): void {
    this.unchargeGathered(t);
    this.folios = 0;
  }

  private unchargeGathered(t: SimThread): void {
    if (this.memcgId !== 0) this.charge.unchargeBatch(t, this.memcgId, this.pages);
    this.memcgId = 0;
    this.pages = 0;
  }
}
