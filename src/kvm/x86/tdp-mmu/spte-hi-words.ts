/**
 * Models no kernel file: storage: the high words (bits 32-63 of the layout in
 * arch/x86/kvm/mmu/spte.h) of the pool's SPTEs, coded per page-table page.
 */
import type { HiWords } from '../../../sync/atomic64.ts';

/** SPTEs per page-table page. */
const ENTRIES = 512;
/** Distinct high words one table's palette holds before the table keeps its high words in full. */
export const PALETTE = 16;
/** Code of an SPTE whose table keeps its high words in full. */
const WIDE = 255;
/**
 * Palette words a compaction must free, or the table keeps its words in full instead: a table whose
 * distinct words churn near PALETTE would otherwise scan its 512 codes for every new word.
 */
const MIN_FREED = 4;
/** Bytes per SPTE of high words while its table's palette suffices: its code and 1/512 of the table's. */
export const HI_BYTES_PER_SPTE = 1 + (PALETTE * 4 + 1 + 4) / ENTRIES;

/**
 * The high 32-bit words (bits 32-63) of the pool's SPTEs, stored per page-table page as a palette.
 *
 * A table's high words take few distinct values: bits 32-51 are the top of the pfn, which changes
 * every 4 GiB of host memory, and bits 52-63 are software bits (host-/MMU-writable, A/D disabled,
 * the saved R/X of an access-tracked SPTE, suppress-#VE of a non-present one) that most SPTEs share.
 * So each SPTE keeps a one-byte code into its table's palette of up to PALETTE words. A table that
 * needs more distinct words than that, after dropping the ones no SPTE uses any more (or that would
 * free fewer than MIN_FREED), keeps all 512 in full, so every value stays representable. This is
 * storage only: readers and writers see plain 32-bit words through `get` and `set`, as if the high
 * words were an array; the palette saves 3 of the 8 bytes of an SPTE.
 */
export class SpteHiWords implements HiWords {
  /** Per SPTE: its word's index in its table's palette, or WIDE. */
  private code: Uint8Array;
  /** Per table: PALETTE words. */
  private palette: Uint32Array;
  /** Per table: palette entries in use. */
  private used: Uint8Array;
  /** Per table: the block of `wide` holding its words in full, or -1. */
  private wideBlock: Int32Array;
  /** Tables' words in full, ENTRIES per block. */
  private wide = new Uint32Array(0);
  private readonly freeWide: number[] = [];
  private wideBlocks = 0;

  constructor(tables: number) {
    this.code = new Uint8Array(tables * ENTRIES);
    this.palette = new Uint32Array(tables * PALETTE);
    this.used = new Uint8Array(tables);
    this.wideBlock = new Int32Array(tables).fill(-1);
  }

  /** The high word of SPTE `i`. */
  get(i: number): number {
    const c = this.code[i];
    if (c !== WIDE) return this.palette[(i >>> 9) * PALETTE + c];
    return this.wide[this.wideBlock[i >>> 9] * ENTRIES + (i & (ENTRIES - 1))];
  }

  /** Sets the high word of SPTE `i`. */
  set(i: number, v: number): void {
    const c = this.code[i];
    const table = i >>> 9;
    if (c === WIDE) {
      this.wide[this.wideBlock[table] * ENTRIES + (i & (ENTRIES - 1))] = v;
      return;
    }
    const P = this.palette;
    const base = table * PALETTE;
    if (P[base + c] === v) return;
    const n = this.used[table];
    for (let k = 0; k < n; k++) {
      if (P[base + k] === v) {
        this.code[i] = k;
        return;
      }
    }
    if (n === PALETTE && !this.compact(table, i)) {
      this.widen(table);
      this.wide[this.wideBlock[table] * ENTRIES + (i & (ENTRIES - 1))] = v;
      return;
    }
    const k = this.used[table];
    P[base + k] = v;
    this.used[table] = k + 1;
    this.code[i] = k;
  }

  /** Every SPTE of `table` gets high word `v` (a new page-table page). */
  reset(table: number, v: number): void {
    const b = this.wideBlock[table];
    if (b >= 0) {
      this.freeWide.push(b);
      this.wideBlock[table] = -1;
    }
    this.code.fill(0, table * ENTRIES, (table + 1) * ENTRIES);
    this.palette[table * PALETTE] = v;
    this.used[table] = 1;
  }

  /** Room for `tables` tables in all, keeping the words of the tables below that. */
  grow(tables: number): void {
    const code = new Uint8Array(tables * ENTRIES);
    code.set(this.code);
    const palette = new Uint32Array(tables * PALETTE);
    palette.set(this.palette);
    const used = new Uint8Array(tables);
    used.set(this.used);
    const wideBlock = new Int32Array(tables).fill(-1);
    wideBlock.set(this.wideBlock);
    this.code = code;
    this.palette = palette;
    this.used = used;
    this.wideBlock = wideBlock;
  }

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return (
      this.code.byteLength +
      this.palette.byteLength +
      this.used.byteLength +
      this.wideBlock.byteLength +
      this.wide.byteLength
    );
  }

  /**
   * Drops the palette words of `table` that no SPTE but `except` (about to change) uses. Returns
   * false, changing nothing, if that would free fewer than MIN_FREED.
   */
  private compact(table: number, except: number): boolean {
    const code = this.code;
    const start = table * ENTRIES;
    let live = 0;
    for (let j = start; j < start + ENTRIES; j++) if (j !== except) live |= 1 << code[j];
    let used = 0;
    for (let k = 0; k < PALETTE; k++) if (live & (1 << k)) used++;
    if (PALETTE - used < MIN_FREED) return false;
    const P = this.palette;
    const base = table * PALETTE;
    const remap = new Uint8Array(PALETTE);
    let n = 0;
    for (let k = 0; k < PALETTE; k++) {
      if (!(live & (1 << k))) continue;
      P[base + n] = P[base + k];
      remap[k] = n++;
    }
    for (let j = start; j < start + ENTRIES; j++) code[j] = j === except ? 0 : remap[code[j]];
    this.used[table] = n;
    return true;
  }

  /** Moves `table` to a block of full words. */
  private widen(table: number): void {
    let b = this.freeWide.pop();
    if (b === undefined) {
      b = this.wideBlocks++;
      if (this.wide.length < this.wideBlocks * ENTRIES) {
        const wide = new Uint32Array(Math.max(4, this.wideBlocks * 2) * ENTRIES);
        wide.set(this.wide);
        this.wide = wide;
      }
    }
    this.wideBlock[table] = b;
    const start = table * ENTRIES;
    const base = table * PALETTE;
    for (let j = 0; j < ENTRIES; j++) {
      this.wide[b * ENTRIES + j] = this.palette[base + this.code[start + j]];
      this.code[start + j] = WIDE;
    }
  }
}
