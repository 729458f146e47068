/**
 * Models arch/x86/include/asm/pgtable_types.h (the _PAGE_* bits) and a pgd → pud → pmd → pte walk.
 * Host (primary MMU) 4-level page tables, x86-64 style: PGD → PUD → PMD → PTE, 512 entries a table.
 * All tables live in one pool of 32-bit entries (struct of arrays; a table is an index).
 * An entry keeps the x86 PTE bits the model uses, compressed into 32 bits:
 *   bit 0 _PAGE_PRESENT, 1 _PAGE_RW, 2 _PAGE_ACCESSED, 3 _PAGE_DIRTY, 4 _PAGE_PSE (leaf above the
 *   PTE level), bits 5-31: pfn of a leaf, or the pool index of the next-level table.
 */
/** PAGE_SIZE of x86-64: bytes of a base page. */
export const PAGE_SIZE = 4096;
/** Entries of a page table at every level of x86-64's 4-level paging. */
export const PTRS_PER_PTE = 512;
/** Bytes one PTE table maps (one PMD entry). */
export const PMD_SIZE = PTRS_PER_PTE * PAGE_SIZE;
/** HPAGE_PMD_ORDER (include/linux/huge_mm.h): a THP's order, one PMD leaf of 4 KiB pages. */
export const HPAGE_PMD_ORDER = 9;
export const PTE_PRESENT = 1;
export const PTE_WRITE = 2;
export const PTE_ACCESSED = 4;
export const PTE_DIRTY = 8;
export const PTE_PSE = 16;
const SHIFT = 5;
/** Largest pfn or table index an entry can hold. */
export const PTE_MAX_PFN = 2 ** 27 - 1;

/**
 * A non-present PTE holding a swap entry: the PSE bit (meaningless when not present) marks it, the
 * swap slot is in bits 5-31.
 */
export const PTE_SWAP = PTE_PSE;

/** A swap-entry PTE for `slot`. */
export function mkSwapPte(slot: number): number {
  return ((slot << 5) | PTE_SWAP) >>> 0;
}

/** True for a non-present PTE that holds a swap entry. */
export function isSwapPte(e: number): boolean {
  return (e & (PTE_PRESENT | PTE_SWAP)) === PTE_SWAP;
}

/**
 * pte_protnone (arch/x86/include/asm/pgtable.h): a NUMA-hinting entry that change_prot_numa made
 * PROT_NONE. x86 keeps _PAGE_PROTNONE in the global bit; the model has no bit to spare and encodes
 * it as a non-present entry that is neither empty nor a swap entry: the pfn stays, and so do the
 * Accessed and Dirty bits (pte_modify keeps _PAGE_CHG_MASK).
 */
export function pteProtnone(e: number): boolean {
  return (e & (PTE_PRESENT | PTE_SWAP)) === 0 && e >>> SHIFT !== 0;
}

/** pte_present: a present entry, or a PROT_NONE one (x86 counts both as present). */
export function ptePresent(e: number): boolean {
  return (e & PTE_PRESENT) !== 0 || pteProtnone(e);
}

/** Builds an entry. */
export function mkPte(pfn: number, bits: number): number {
  return ((pfn << SHIFT) | bits) >>> 0;
}
/** pfn (or table index) of an entry. */
export function ptePfn(e: number): number {
  return e >>> SHIFT;
}

/** Index of `vpn` (hva >> 12) in a table of `level` (1 = PTE … 4 = PGD). */
export function ptIndex(vpn: number, level: number): number {
  switch (level) {
    case 1:
      return vpn & 511;
    case 2:
      return (vpn >>> 9) & 511;
    case 3:
      return (vpn >>> 18) & 511;
    default:
      return Math.floor(vpn / 134217728) & 511;
  }
}

export class PageTablePool {
  entries: Uint32Array;
  private used = 0;
  /** Tables currently allocated. */
  tables = 0;
  /** Level reached by the last `walk` (1 = PTE; 2 or 3 for a huge leaf). */
  hitLevel = 0;

  constructor(initialTables = 16) {
    this.entries = new Uint32Array(initialTables * 512);
  }

  /** Adds room for `tables` more tables at once (a large mapping should not grow the pool stepwise). */
  reserve(tables: number): void {
    const next = new Uint32Array(this.entries.length + tables * 512);
    next.set(this.entries);
    this.entries = next;
  }

  /** Allocates a zeroed table and returns its index. */
  allocTable(): number {
    this.tables++;
    if ((this.used + 1) * 512 > this.entries.length) {
      const next = new Uint32Array(this.entries.length * 2);
      next.set(this.entries);
      this.entries = next;
    }
    return this.used++;
  }

  /**
   * Walks from the PGD `root` towards `vpn` and returns the entry index at `level`, or at a huge
   * leaf met on the way (see `hitLevel`). Missing tables are allocated when `alloc` is set;
   * otherwise the walk stops at the first non-present entry and returns -(index + 1) of it.
   * `levels` counts the tables visited (for costs).
   */
  walk(root: number, vpn: number, level: number, alloc: boolean): number {
    let table = root;
    for (let l = 4; l > level; l--) {
      const idx = table * 512 + ptIndex(vpn, l);
      const e = this.entries[idx];
      if (!(e & PTE_PRESENT)) {
        if (!alloc) {
          this.hitLevel = l;
          return -(idx + 1);
        }
        const child = this.allocTable();
        this.entries[idx] = mkPte(child, PTE_PRESENT | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY);
        table = child;
        continue;
      }
      if (e & PTE_PSE) {
        this.hitLevel = l;
        return idx;
      }
      table = ptePfn(e);
    }
    this.hitLevel = level;
    return table * 512 + ptIndex(vpn, level);
  }
}
