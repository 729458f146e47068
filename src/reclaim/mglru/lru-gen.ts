/**
 * Models mm/vmscan.c and include/linux/mm_inline.h: the multi-gen LRU's lruvecs, lru_gen_add_folio
 * and folio_update_gen; lru_gen_refault (mm/workingset.c). The generation counters are gen-seq.ts.
 */
import type { Host } from '../../host/host.ts';
import { lruvecKey } from '../../host/lru-add.ts';
import type { LruGenHooks } from '../../host/lru-gen-hooks.ts';
import type { Memcg } from '../../host/memcg.ts';
import { PG_ACTIVE, PG_HEAD, PG_REFERENCED, PG_SWAPBACKED, PG_WORKINGSET } from '../../host/page-flags.ts';
import type { RmapHit } from '../../host/rmap.ts';
import type { ShadowEntries } from '../../host/shadow.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { SpinLock } from '../../sync/spinlock.ts';
import type { KernelVariant } from '../../variants/kernel-variant.ts';
import {
  folioLruGen,
  LRU_REFS_FLAGS,
  LRU_REFS_MASK,
  LRU_REFS_PGOFF,
  lruTierFromRefs,
  withGen,
} from './gen-flags.ts';
import { EvictionStats, LruGenStats } from './lru-gen-stats.ts';
import {
  LRU_GEN_ANON,
  LRU_GEN_CORE,
  LRU_GEN_FILE,
  LRU_GEN_MM_WALK,
  LRU_GEN_NONLEAF_YOUNG,
  LRU_GEN_SECONDARY_MMU_WALK,
  Lruvec,
  lruGenFromSeq,
  MAX_NR_GENS,
  MAX_NR_TIERS,
  MIN_LRU_BATCH,
} from './lruvec.ts';

/**
 * The multi-gen LRU of the host (mm/vmscan.c, include/linux/mm_inline.h): one lruvec per (memcg,
 * node), folio insertion, and the generation counters. Aging walks live in `aging.ts`.
 */
export class LruGen implements LruGenHooks {
  readonly stats = new LruGenStats();
  readonly evictionStats = new EvictionStats();
  /** Scratch for rmap walks of eviction. */
  readonly hit: RmapHit = { mm: null as never, addr: 0, entryIdx: 0, size: 0 };
  /** Effective caps (x86 with hardware accessed bits: all three). */
  caps = LRU_GEN_CORE | LRU_GEN_MM_WALK | LRU_GEN_NONLEAF_YOUNG;
  /** lru_gen_min_ttl in jiffies (written through min_ttl_ms; 0: off). */
  minTtl = 0n;
  /** Global direct reclaims by allocating threads (allocSlowpath). */
  directReclaims = 0;
  /** Direct reclaims without progress that waited for kswapd (reclaim_throttle). */
  reclaimThrottled = 0;
  /** The kernel's aging walks can consult secondary MMUs (Linux 6.12+, v4; see src/variants). */
  secondaryMmuWalkSupported = true;
  /** That support is the runtime cap 0x8 (v4) rather than always on. */
  secondaryMmuCap = false;
  /** Secondary MMUs are asked up to 64 PTEs per call with a bitmap (the v2-bitmap series). */
  bitmapYoung = false;
  /** Aging uses fast_only notifier calls (seed 003 v7). */
  fastOnly = false;

  /** Follows a kernel variant's MGLRU design; all its caps enabled. */
  applyVariant(v: KernelVariant): void {
    this.secondaryMmuWalkSupported = v.walkSecondaryMmu;
    this.secondaryMmuCap = v.secondaryMmuCap;
    this.bitmapYoung = v.bitmapYoung ?? false;
    this.fastOnly = v.fastOnly ?? false;
    this.caps = this.allCaps;
  }

  /** Whether aging walks consult secondary MMUs now. */
  get walkSecondaryMmu(): boolean {
    return (
      this.secondaryMmuWalkSupported &&
      (!this.secondaryMmuCap || (this.caps & LRU_GEN_SECONDARY_MMU_WALK) !== 0)
    );
  }

  /** Every cap this kernel has (what 'y' enables). */
  get allCaps(): number {
    return (
      LRU_GEN_CORE |
      LRU_GEN_MM_WALK |
      LRU_GEN_NONLEAF_YOUNG |
      (this.secondaryMmuCap ? LRU_GEN_SECONDARY_MMU_WALK : 0)
    );
  }
  private readonly lruvecs = new Map<number, Lruvec>();

  constructor(readonly host: Host) {
    host.lru.onAdd = (t, pfn) => this.addFolio(t, pfn);
  }

  /** mem_cgroup_lruvec: the lruvec of (memcg, node), created on first use. */
  lruvec(memcg: Memcg, nid: number): Lruvec {
    const k = lruvecKey(memcg.id, nid);
    let l = this.lruvecs.get(k);
    if (l === undefined) {
      l = new Lruvec(memcg, nid, this.host.engine.now, this.host.mem.enableLruLinks());
      this.lruvecs.set(k, l);
    }
    return l;
  }

  /** lruvec->lru_lock: the one the per-CPU LRU batches drain under too. */
  lruLock(l: Lruvec): SpinLock {
    return this.host.lru.lruLock(l.memcg.id, l.nid);
  }

  /**
   * get_swappiness: 0 without enough free swap to be worth scanning anon, else the memcg's
   * swappiness (60).
   */
  getSwappiness(): number {
    const swap = this.host.swap;
    return swap !== null && swap.freeSlots >= MIN_LRU_BATCH ? 60 : 0;
  }

  /** Lruvecs in creation order. */
  all(): Lruvec[] {
    return [...this.lruvecs.values()];
  }

  /** The lruvec a folio is charged to. */
  folioLruvec(pfn: number): Lruvec {
    const mem = this.host.mem;
    return this.lruvec(this.host.memcgs.byId(mem.memcgOf(pfn)) ?? this.host.memcgs.root, mem.pfnToNid(pfn));
  }

  /** folio_is_file_lru: not swap-backed. */
  folioType(flags: number): number {
    return flags & PG_SWAPBACKED ? LRU_GEN_ANON : LRU_GEN_FILE;
  }

  /** Pages in the folio starting at `pfn`. */
  folioPages(pfn: number): number {
    return this.host.mem.flags[pfn] & PG_HEAD ? 512 : 1;
  }

  /**
   * lru_gen_add_folio with lru_gen_folio_seq: a fault-in (PG_active, from in_lru_fault) or an anon
   * folio lands in max_seq - 1 (max_seq with PG_workingset); other folios near the oldest generation.
   */
  addFolio(t: SimThread, pfn: number): void {
    const mem = this.host.mem;
    const f = mem.flags[pfn];
    const type = this.folioType(f);
    const l = this.folioLruvec(pfn);
    const ws = f & PG_WORKINGSET ? 1 : 0;
    let g: number;
    if (f & PG_ACTIVE) g = 2 - ws;
    else if (type === LRU_GEN_ANON) g = 2;
    else g = 4 - ws;
    const seq = Math.max(l.maxSeq - g + 1, l.minSeq[type]);
    const gen = lruGenFromSeq(seq);
    mem.flags[pfn] = withGen(f & ~PG_ACTIVE, gen);
    l.nrPages[gen * 2 + type] += this.folioPages(pfn);
    l.folios[gen * 2 + type].pushHead(pfn);
    this.stats.foliosAdded++;
    t.advance(this.host.engine.profile.lruGenAddNs);
  }

  /**
   * folio_update_gen: the second chance. A folio seen young for the first time only gets
   * PG_referenced; one already referenced (or workingset) gets `gen` in its flags, loses its refs and
   * gets PG_workingset. The folio stays where it is on the lists (the kernel's lazy promotion: a scan
   * of its old list sorts it, see `folioIncGen` and `evictFolios`), and the generation sizes stay
   * too: the walker batches the move (update_batch_size) and applies it under lru_lock
   * (reset_batch_size, see `LruGenMmWalk`). Returns the old generation, or -1 if the folio was not
   * promoted.
   */
  folioUpdateGen(pfn: number, gen: number): number {
    const mem = this.host.mem;
    const f = mem.flags[pfn];
    if (!(f & (PG_REFERENCED | PG_WORKINGSET))) {
      mem.flags[pfn] = (f & ~LRU_REFS_FLAGS) | PG_REFERENCED;
      this.stats.secondChance++;
      return -1;
    }
    const old = folioLruGen(f);
    if (old < 0) return -1;
    mem.flags[pfn] = withGen((f & ~LRU_REFS_FLAGS) | PG_WORKINGSET, gen);
    if (old !== gen) this.stats.promoted++;
    return old;
  }

  /** lru_gen_update_size for a folio whose flags moved from generation `old` to `gen`. */
  private moveSize(l: Lruvec, pfn: number, f: number, old: number, gen: number): void {
    const type = this.folioType(f);
    const n = this.folioPages(pfn);
    l.nrPages[old * 2 + type] -= n;
    l.nrPages[gen * 2 + type] += n;
    this.stats.promoted++;
  }

  /**
   * lru_gen_inc_refs (mm/swap.c), folio_mark_accessed's MGLRU half: an unevictable folio is left
   * alone (none are on MGLRU lists in the model); the first access sets PG_referenced with refs 0,
   * each later one counts refs up to LRU_REFS_MASK, after which PG_workingset is set. PG_idle and the
   * generation are untouched.
   */
  lruGenIncRefs(pfn: number): void {
    const mem = this.host.mem;
    const f = mem.flags[pfn];
    if (!(f & PG_REFERENCED)) mem.flags[pfn] = ((f & ~LRU_REFS_MASK) | PG_REFERENCED) >>> 0;
    else if ((f & LRU_REFS_MASK) === LRU_REFS_MASK) mem.flags[pfn] = f | PG_WORKINGSET;
    else mem.flags[pfn] = (f + (1 << LRU_REFS_PGOFF)) >>> 0;
  }

  /**
   * lru_gen_del_folio for a folio isolated without reclaim (migration): leaving an active
   * generation (max_seq or max_seq - 1) it gets PG_active, so that putting it (or the folio it was
   * migrated to) back adds it as hot.
   */
  isolateFolio(pfn: number): void {
    const f = this.host.mem.flags[pfn];
    const gen = folioLruGen(f);
    if (gen < 0) return;
    const max = this.folioLruvec(pfn).maxSeq;
    if (gen === lruGenFromSeq(max) || gen === lruGenFromSeq(max - 1)) this.host.mem.flags[pfn] |= PG_ACTIVE;
    this.delFolio(pfn);
  }

  /** folio_migrate_refs: the new folio takes over the old one's refs field. */
  folioMigrateRefs(from: number, to: number): void {
    const mem = this.host.mem;
    mem.flags[to] = ((mem.flags[to] & ~LRU_REFS_MASK) | (mem.flags[from] & LRU_REFS_MASK)) >>> 0;
  }

  /**
   * lru_gen_set_refs: a folio with neither PG_referenced nor PG_workingset gets PG_referenced and
   * false; otherwise PG_workingset, its refs cleared, and true.
   */
  lruGenSetRefs(pfn: number): boolean {
    const mem = this.host.mem;
    const f = mem.flags[pfn];
    if (!(f & (PG_REFERENCED | PG_WORKINGSET))) {
      mem.flags[pfn] = (f & ~LRU_REFS_FLAGS) | PG_REFERENCED;
      return false;
    }
    mem.flags[pfn] = (f & ~LRU_REFS_FLAGS) | PG_WORKINGSET;
    return true;
  }

  /**
   * folio_activate with MGLRU (lru_gen_activate_folio through the activate batch): the folio joins
   * the youngest generation. The kernel moves it on the lists under lru_lock; the model's lists
   * have one link per frame, so the move is lazy as for `folioUpdateGen`: the generation in the
   * flags and the sizes change now, the list position when a scan of the old list sorts it.
   */
  folioActivate(t: SimThread, l: Lruvec, pfn: number): void {
    const mem = this.host.mem;
    const f = mem.flags[pfn];
    const old = folioLruGen(f);
    if (old < 0) return;
    const gen = lruGenFromSeq(l.maxSeq);
    mem.flags[pfn] = withGen(f, gen);
    if (old !== gen) this.moveSize(l, pfn, f, old, gen);
    t.advance(this.host.engine.profile.folioUpdateGenNs);
  }

  /**
   * lru_gen_del_folio for a folio freed while on the LRU (madvise): out of its generation's size and
   * off its list.
   */
  delFolio(pfn: number): void {
    const mem = this.host.mem;
    const f = mem.flags[pfn];
    const gen = folioLruGen(f);
    if (gen < 0) return;
    this.folioLruvec(pfn).nrPages[gen * 2 + this.folioType(f)] -= this.folioPages(pfn);
    mem.flags[pfn] = withGen(f, -1);
    mem.lruLinks?.unlink(pfn);
  }

  /**
   * lru_gen_refault (mm/workingset.c): a swapped-in folio whose shadow entry names its own lruvec
   * counts as a refault; if recent (lru_gen_test_recent: the token's sequence within MAX_NR_GENS of
   * max_seq) it is added to refaulted[] in its tier, and the folio gets back PG_workingset, or the
   * refs it had. Called before the folio goes on the LRU.
   */
  onRefault(pfn: number, shadow: ShadowEntries, slot: number): void {
    const mem = this.host.mem;
    const l = this.folioLruvec(pfn);
    const memcg = this.host.memcgs.byId(shadow.memcg[slot]) ?? this.host.memcgs.root;
    if (this.lruvec(memcg, shadow.nid[slot]) !== l) return;
    this.evictionStats.refaults++;
    if (Math.abs(l.maxSeq - shadow.seq[slot]) >= MAX_NR_GENS) return;
    const workingset = (shadow.refs[slot] & 4) !== 0;
    const refs = (shadow.refs[slot] & 3) + 1;
    const type = this.folioType(mem.flags[pfn]);
    l.refaulted[type * MAX_NR_TIERS + lruTierFromRefs(refs, workingset)]++;
    this.evictionStats.recentRefaults++;
    if (workingset) mem.flags[pfn] |= PG_WORKINGSET;
    else mem.flags[pfn] = (mem.flags[pfn] & ~LRU_REFS_MASK) | ((refs - 1) << LRU_REFS_PGOFF);
  }
}
