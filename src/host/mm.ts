/**
 * Models struct mm_struct (include/linux/mm_types.h): VMAs, page tables, mmap_lock and MMU
 * notifiers, with do_mmap's top-down placement (mm/mmap.c) and vma_lookup (findVma).
 */
import { QRwLock } from '../sync/rwlock.ts';
import type { Host } from './host.ts';
import type { Memcg } from './memcg.ts';
import type { MmuNotifierSubscriptions } from './mmu-notifier.ts';
import { PageTablePool } from './page-table.ts';
import { PteLocks } from './pte-locks.ts';
import { type BackingKind, FileMapping, Vma } from './vma.ts';

/** Where the top-down mmap allocator starts (x86-64 user space below 2^47). */
const MMAP_BASE = 0x7f00_0000_0000;
const HPAGE_SIZE = 2 * 1024 * 1024;

/** mm_struct of one process: VMAs, the host page tables, mmap_lock and MMU-notifier subscriptions. */
export class Mm {
  readonly vmas: Vma[] = [];
  readonly pt = new PageTablePool();
  readonly pgd: number;
  /** mmap_lock: an rwsem; GUP's slow path and pagemap reads take it for reading. */
  readonly mmapLock: QRwLock;
  /** PTE-table locks held across steps (the MGLRU walker's). */
  readonly ptl: PteLocks;
  notifiers: MmuNotifierSubscriptions | null = null;
  private mmapTop = MMAP_BASE;
  /** Pages mapped (rss). */
  rss = 0;

  constructor(
    readonly host: Host,
    readonly pid: number,
    readonly memcg: Memcg,
  ) {
    this.pgd = this.pt.allocTable();
    this.mmapLock = new QRwLock(host.engine, `mm${pid}.mmap_lock`, true, 'mmap_lock');
    // include/linux/mm_types.h (6.x): mmap_lock starts 56 bytes into a cache line, so its `count`
    // and `owner` sit in two lines (commit 2e3025434a6b's comment). `setMmapLockOwnerInCountLine`
    // gives a kernel whose layout put them in one.
    this.mmapLock.ownerLine = host.engine.sharedLine(`mm${pid}.mmap_lock.owner`, 'mmap_lock.owner');
    this.ptl = new PteLocks(host.engine);
  }

  /**
   * For a kernel whose mm_struct holds mmap_lock's `count` and `owner` in one cache line (5.10 to
   * 5.13-rc6 with distro-like configs: 57efa1fe5957 moved mmap_lock to offset 128, 2e3025434a6b
   * moved it back): the owner store then follows the count's atomic on the line the CPU owns.
   */
  setMmapLockOwnerInCountLine(): void {
    this.mmapLock.ownerLine = null;
  }

  /**
   * mmap of `bytes` with the given backing, top-down, aligned to the folio size (the selftest aligns
   * its regions to the backing page size) or to `alignTo` bytes (a driver's get_unmapped_area, such
   * as vfio-pci's for a huge BAR mapping). Returns the VMA.
   */
  mmap(bytes: number, kind: BackingKind, writable = true, alignTo = 0): Vma {
    const align =
      alignTo > 0
        ? alignTo
        : kind === 'anonymous' || kind === 'shmem' || kind === 'file' || kind === 'file-private'
          ? 4096
          : HPAGE_SIZE;
    const len = Math.ceil(bytes / align) * align;
    const start = Math.floor((this.mmapTop - len) / align) * align;
    this.mmapTop = start - HPAGE_SIZE;
    // PTE tables for the whole range, plus the PMD and PUD tables above them.
    this.pt.reserve(Math.ceil(len / HPAGE_SIZE) + Math.ceil(len / 2 ** 30) + 2);
    const id = this.host.newMappingId();
    const hasFile = kind === 'shmem' || kind === 'file' || kind === 'file-private';
    const lockName = hasFile ? 'i_mmap_rwsem' : 'anon_vma.rwsem';
    const rmapLock = new QRwLock(this.host.engine, `${lockName}#${id}`, true, lockName);
    if (hasFile) this.host.mem.trackContent();
    const file = hasFile ? new FileMapping(id, len / 4096, rmapLock, kind === 'shmem') : null;
    const vma = new Vma(this, id, start, start + len, kind, writable, rmapLock, file);
    file?.mappers.push(vma);
    this.host.registerMapping(id, vma);
    this.vmas.push(vma);
    this.vmas.sort((a, b) => a.start - b.start);
    return vma;
  }

  /** find_vma for an address inside a VMA (vma_lookup), or null. */
  findVma(hva: number): Vma | null {
    const v = this.vmas;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid];
      if (hva < m.start) hi = mid - 1;
      else if (hva >= m.end) lo = mid + 1;
      else return m;
    }
    return null;
  }
}
