/**
 * Models the TDP MMU's page-table pages, struct kvm_mmu_page
 * (arch/x86/kvm/mmu/mmu_internal.h), with SPTE_INDEX (spte.h) and a tdp_iter walk (tdp_iter.c).
 */
import { isShadowPresent, PT_PAGE_SIZE } from '../spte.ts';
import { SpteHiWords } from './spte-hi-words.ts';

/** Number of guest pages a leaf at `level` maps (KVM_PAGES_PER_HPAGE). */
export function pagesPerLevel(level: number): number {
  return level === 1 ? 1 : level === 2 ? 512 : level === 3 ? 262144 : 134217728;
}

/** SPTE index of `gfn` inside a table of `level` (SPTE_INDEX). */
export function spteIndex(gfn: number, level: number): number {
  switch (level) {
    case 1:
      return gfn & 511;
    case 2:
      return (gfn >>> 9) & 511;
    case 3:
      return (gfn >>> 18) & 511;
    default:
      return Math.floor(gfn / 134217728) & 511;
  }
}

/**
 * The TDP MMU's page-table pages (struct kvm_mmu_page) as one pool: SPTEs as two 32-bit words, 512
 * per table (the low words in an array, the high words coded per table, see `SpteHiWords`), and
 * per-table metadata (level, base gfn, parent SPTE). A table index stands for the physical address
 * of the page-table page: non-leaf SPTEs carry it in their pfn field.
 */
export class SptePool {
  lo: Uint32Array;
  readonly hi: SpteHiWords;
  level: Int8Array;
  gfn: Float64Array;
  /** Index of the SPTE that points to this table (-1 for a root). */
  parent: Int32Array;
  private used = 0;
  private readonly free: number[] = [];
  /** Tables in use. */
  tables = 0;
  /** Level at which the last `walk` stopped. */
  walkLevel = 0;

  constructor(initialTables = 64) {
    this.lo = new Uint32Array(initialTables * 512);
    this.hi = new SpteHiWords(initialTables);
    this.level = new Int8Array(initialTables);
    this.gfn = new Float64Array(initialTables);
    this.parent = new Int32Array(initialTables);
  }

  /** Makes room for `tables` more tables, so a large VM does not grow the arrays step by step. */
  reserve(tables: number): void {
    if (this.level.length < this.used + tables) this.grow(this.used + tables);
  }

  /** Allocates a table of `level` covering `baseGfn`, every SPTE SHADOW_NONPRESENT_VALUE. */
  alloc(level: number, baseGfn: number, parent: number, nonpresentHi: number): number {
    let t = this.free.pop();
    if (t === undefined) {
      if (this.used === this.level.length) this.grow(this.level.length * 2);
      t = this.used++;
    }
    this.tables++;
    this.lo.fill(0, t * 512, t * 512 + 512);
    this.hi.reset(t, nonpresentHi);
    this.level[t] = level;
    this.gfn[t] = baseGfn;
    this.parent[t] = parent;
    return t;
  }

  /** Returns a table to the pool (after an RCU grace period for tables lockless walkers may see). */
  release(table: number): void {
    this.tables--;
    this.level[table] = 0;
    this.free.push(table);
  }

  /**
   * Walks from `root` towards `gfn` and returns the index of the SPTE where the walk stops: the 4K
   * SPTE, a large leaf, or the first non-present entry (`walkLevel` says at which level).
   */
  walk(root: number, gfn: number): number {
    const LO = this.lo;
    let table = root;
    for (let level = this.level[root]; ; level--) {
      const idx = table * 512 + spteIndex(gfn, level);
      const lo = LO[idx];
      if (level === 1 || !isShadowPresent(lo) || lo & PT_PAGE_SIZE) {
        this.walkLevel = level;
        return idx;
      }
      table = this.child(idx);
    }
  }

  /**
   * Table index a present non-leaf SPTE points to. While the pool has fewer than 2^20 tables, an
   * index fits in the low word's pfn field (bits 12-31), and the high word's pfn bits are zero.
   */
  child(idx: number): number {
    const lo = this.lo[idx] >>> 12;
    return this.level.length <= 0x100000 ? lo : (this.hi.get(idx) & 0xfffff) * 0x100000 + lo;
  }

  private grow(n: number): void {
    const lo = new Uint32Array(n * 512);
    lo.set(this.lo);
    this.hi.grow(n);
    const level = new Int8Array(n);
    level.set(this.level);
    const gfn = new Float64Array(n);
    gfn.set(this.gfn);
    const parent = new Int32Array(n);
    parent.set(this.parent);
    this.lo = lo;
    this.level = level;
    this.gfn = gfn;
    this.parent = parent;
  }
}
