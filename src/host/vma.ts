/**
 * Models struct vm_area_struct (include/linux/mm_types.h) and a file's page cache, struct
 * address_space (include/linux/fs.h).
 */
import type { SimThread } from '../sim/thread.ts';
import type { QRwLock } from '../sync/rwlock.ts';
import type { Mm } from './mm.ts';
import { ShadowEntries } from './shadow.ts';

/**
 * How a VMA is backed: the selftest's -s backing sources, 'file' (a regular file mapped
 * MAP_SHARED, page cache), 'file-private' (the same mapped MAP_PRIVATE: a write copies the page
 * into an anonymous folio), and 'device' (a driver's mapping, filled by its own `fault` handler:
 * device-mem.ts).
 */
export type BackingKind =
  | 'anonymous'
  | 'anonymous_thp'
  | 'anonymous_hugetlb'
  | 'shmem'
  | 'file'
  | 'file-private'
  | 'device';

/** Backing sources in the order the selftest lists them. */
export const BACKING_KINDS: readonly BackingKind[] = [
  'anonymous',
  'anonymous_thp',
  'anonymous_hugetlb',
  'shmem',
];

/** A swapped-out shmem page's page-cache value for swap slot `slot` (the xarray's swap entry). */
export function shmemSwapEntry(slot: number): number {
  return -2 - slot;
}

/** The swap slot held by a page-cache value, or -1 if it is a frame or empty. */
export function shmemSwapSlot(v: number): number {
  return v < -1 ? -2 - v : -1;
}

/** Page-cache value of a regular file's page that was evicted: its shadow entry is in `shadow`. */
export const FILE_SHADOW = -2;

/**
 * A file's page cache (struct address_space) for shmem (a memfd) or a regular file: one value per
 * page offset: a frame, -1 (not cached), for shmem a swap entry (shmemSwapEntry) once the page was
 * written out, for a regular file FILE_SHADOW once a clean page was dropped. A regular file's
 * contents on disk are one word per page.
 */
export class FileMapping {
  readonly pages: Int32Array;
  readonly mappers: Vma[] = [];
  /** Regular files: the data word of each page on disk, and the shadow entries of dropped pages. */
  readonly disk: Uint32Array | null;
  readonly shadow: ShadowEntries | null;
  /**
   * Regular files: PG_writeback of the folio at each offset (kept here, by page-cache index, as
   * the frames' flags word has no free bit): set from folio_start_writeback to
   * folio_end_writeback.
   */
  readonly writeback: Uint8Array | null;
  /**
   * vma_wants_writenotify for shared writable mappings of this file (mm/vma.c; mm/mmap.c before 6.12): true for a
   * filesystem that can write back (mapping_can_writeback): read faults map the page read-only and
   * the first write goes through page_mkwrite, which dirties the folio. False models a mapping the
   * primary MMU tracks only by its PTEs' hardware dirty bit (no write notification: shmem and
   * ramfs today, every shared file mapping before 2.6.19): read faults map the page writable and
   * clean, and rmap walks move the PTE's dirty bit to the folio.
   */
  writenotify = true;
  /** Pages written to disk by writeback, and clean pages dropped from the page cache by reclaim. */
  pagesWritten = 0;
  pagesDropped = 0;
  constructor(
    readonly mappingId: number,
    npages: number,
    /** i_mmap_rwsem, taken for reading by rmap walks. */
    readonly immapLock: QRwLock,
    readonly shmem: boolean,
  ) {
    this.pages = new Int32Array(npages).fill(-1);
    this.disk = shmem ? null : new Uint32Array(npages);
    this.shadow = shmem ? null : new ShadowEntries(npages);
    this.writeback = shmem ? null : new Uint8Array(npages);
  }
}

/** VM_PFNMAP (include/linux/mm.h): page-ranges managed without struct page, just pure PFN. */
export const VM_PFNMAP = 0x400;
/** VM_IO (include/linux/mm.h): memory-mapped I/O or similar; GUP refuses it. */
export const VM_IO = 0x4000;
/** VM_MIXEDMAP (include/linux/mm.h): may mix pages with and without struct page (vm_insert_page). */
export const VM_MIXEDMAP = 0x10000000;

/**
 * vm_operations_struct's fault / huge_fault for a driver's VMA: fills the entry for `hva` and
 * returns a VM_FAULT_* (fault.ts).
 */
export type VmFault = (t: SimThread, vma: Vma, hva: number, write: boolean) => number;

/** vm_area_struct: [start, end) in bytes, its backing and the lock its rmap walks take. */
export class Vma {
  constructor(
    readonly mm: Mm,
    /** rmap id stored in `PhysMem.mapping` for anonymous folios of this VMA (its anon_vma). */
    readonly mappingId: number,
    readonly start: number,
    readonly end: number,
    readonly kind: BackingKind,
    readonly writable: boolean,
    /** anon_vma->rwsem (anonymous) or the file's i_mmap_rwsem (shmem). */
    readonly rmapLock: QRwLock,
    readonly file: FileMapping | null = null,
  ) {}

  /** The vm_flags bits the model keeps beyond `writable`: VM_IO, VM_PFNMAP, VM_MIXEDMAP. */
  vmFlags = 0;
  /** vm_ops->fault of a driver's VMA ('device'), or null. */
  fault: VmFault | null = null;

  /** Page size of the folios that back this VMA. */
  get folioPages(): number {
    return this.kind === 'anonymous_thp' || this.kind === 'anonymous_hugetlb' ? 512 : 1;
  }
}
