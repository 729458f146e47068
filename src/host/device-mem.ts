/**
 * Models a driver's mapping of device or driver memory into a process:
 * drivers/vfio/pci/vfio_pci_core.c (vfio_pci_core_mmap, vfio_pci_mmap_huge_fault: a BAR mapped
 * VM_IO|VM_PFNMAP at 4 KiB, 2 MiB or 1 GiB, "huge PFNMAP"), mm/memory.c (vmf_insert_pfn,
 * vm_insert_page, zap_page_range_single for the driver's unmap_mapping_range) and mm/huge_memory.c
 * (vmf_insert_pfn_pmd, vmf_insert_pfn_pud). Two kinds of driver memory with struct pages beside
 * the BAR: VM_MIXEDMAP order-0 pages inserted with vm_insert_page (which takes a reference), and a
 * GPU driver's non-compound higher-order allocation (TTM-style) mapped by pfn in a VM_IO|VM_PFNMAP
 * VMA, whose tail pages have refcount 0: seed 002's "non-refcounted" pages.
 */

import type { SimThread } from '../sim/thread.ts';
import { UserError } from '../sim/user-error.ts';
import { VM_FAULT_OK, VM_FAULT_OOM } from './fault.ts';
import type { Mm } from './mm.ts';
import {
  mkPte,
  PAGE_SIZE,
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_MAX_PFN,
  PTE_PRESENT,
  PTE_PSE,
  PTE_WRITE,
  ptePfn,
} from './page-table.ts';
import { VM_IO, VM_MIXEDMAP, VM_PFNMAP, type Vma } from './vma.ts';

/** The kinds of driver mapping. */
export type DeviceKind = 'pfnmap' | 'mixedmap' | 'non-refcounted';

/** Pages a leaf at host page-table `level` maps (1 = PTE, 2 = PMD, 3 = PUD). */
export function levelPages(level: number): number {
  return level === 1 ? 1 : level === 2 ? 512 : 262144;
}

/** The name of a mapping size, as the CLI spells it. */
export function levelName(level: number): string {
  return level === 1 ? '4k' : level === 2 ? '2m' : '1g';
}

/** Order of the non-refcounted driver's allocations: 2 MiB, non-compound. */
export const DRIVER_BLOCK_ORDER = 9;

/**
 * Checks a mapping's size before anything runs: a PFNMAP must be a whole number of its mapping
 * size (vfio-pci maps a BAR with leaves of one size), a non-refcounted mapping a whole number of
 * the driver's blocks. Throws a UserError.
 */
export function checkDeviceSize(kind: DeviceKind, bytes: number, level: number): void {
  const unit = (kind === 'non-refcounted' ? 512 : kind === 'pfnmap' ? levelPages(level) : 1) * PAGE_SIZE;
  if (bytes <= 0 || bytes % unit !== 0) {
    const what =
      kind === 'pfnmap'
        ? `PFNMAP size ${bytes} is not a multiple of its mapping size`
        : `${kind} size ${bytes} is not a multiple of`;
    throw new UserError(`${what} ${unit} bytes (${levelName(kind === 'non-refcounted' ? 2 : level)})`);
  }
}

/**
 * A driver's mapping: the VMA, its kind, the leaf level its fault handler installs, and the memory
 * behind it: a BAR's first pfn (above RAM, no struct page) or the pages the driver allocated.
 */
export class DeviceMapping {
  /** First pfn of the BAR (pfnmap), or -1. */
  barPfn = -1;
  /** Driver pages by page offset (mixedmap) or block (non-refcounted); -1 until first touched. */
  readonly pages: Int32Array;
  /** Faults the handler resolved by inserting a leaf. */
  inserted = 0;

  constructor(
    readonly vma: Vma,
    readonly kind: DeviceKind,
    readonly level: number,
  ) {
    const n = (vma.end - vma.start) / PAGE_SIZE;
    this.pages = new Int32Array(kind === 'non-refcounted' ? n / 512 : kind === 'mixedmap' ? n : 0).fill(-1);
  }

  /** vm_ops->fault / huge_fault: install the leaf that maps `hva` (the VMA is made writable). */
  fault(t: SimThread, hva: number, _write: boolean): number {
    const mm = this.vma.mm;
    const mem = mm.host.mem;
    const off = Math.floor((hva - this.vma.start) / PAGE_SIZE);
    let pfn: number;
    if (this.kind === 'pfnmap') pfn = this.barPfn + off - (off % levelPages(this.level));
    else if (this.kind === 'mixedmap') {
      if (this.pages[off] < 0) this.pages[off] = mem.allocPages(t, mm.host.engine.topology.nodeOf(t.cpu), 0);
      pfn = this.pages[off];
      if (pfn < 0) return VM_FAULT_OOM;
    } else {
      const b = off >> DRIVER_BLOCK_ORDER;
      if (this.pages[b] < 0)
        this.pages[b] = mem.allocPages(t, mm.host.engine.topology.nodeOf(t.cpu), DRIVER_BLOCK_ORDER);
      if (this.pages[b] < 0) return VM_FAULT_OOM;
      pfn = this.pages[b] + (off & 511);
    }
    const vpn = Math.floor(hva / PAGE_SIZE);
    const idx = mm.pt.walk(mm.pgd, vpn, this.level, true);
    t.advance((5 - this.level) * mm.host.engine.profile.ptWalkLevelNs);
    // vmf_insert_pfn* return VM_FAULT_NOPAGE when another fault installed the entry first.
    if (mm.pt.entries[idx] & PTE_PRESENT) return VM_FAULT_OK;
    // vm_insert_page: the mapping holds a reference of its own.
    if (this.kind === 'mixedmap') mem.refs.getPage(pfn);
    const bits = PTE_PRESENT | PTE_ACCESSED | PTE_DIRTY | (this.vma.writable ? PTE_WRITE : 0);
    mm.pt.entries[idx] = mkPte(pfn, bits | (this.level > 1 ? PTE_PSE : 0));
    this.inserted++;
    return VM_FAULT_OK;
  }

  /**
   * The driver's unmap_mapping_range over [start, end): an MMU-notifier invalidation (MMU_NOTIFY_CLEAR,
   * so KVM zaps its SPTEs), the leaves cleared, and for vm_insert_page'd pages the mapping's
   * reference dropped. Returns the leaves cleared.
   */
  zap(t: SimThread, start: number, end: number): number {
    const mm = this.vma.mm;
    const host = mm.host;
    const range = { mm, start, end, event: 'clear' as const, blockable: true };
    host.mmuNotifier.invalidateRangeStart(t, range);
    let cleared = 0;
    for (let va = start; va < end; ) {
      const vpn = Math.floor(va / PAGE_SIZE);
      const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
      t.advance(4 * host.engine.profile.ptWalkLevelNs);
      const span = idx < 0 ? 1 : levelPages(mm.pt.hitLevel);
      if (idx >= 0 && mm.pt.entries[idx] & PTE_PRESENT) {
        const pfn = ptePfn(mm.pt.entries[idx]);
        mm.pt.entries[idx] = 0;
        if (this.kind === 'mixedmap') host.mem.refs.putPage(pfn);
        cleared++;
      }
      va = (Math.floor(vpn / span) + 1) * span * PAGE_SIZE;
    }
    host.mmuNotifier.invalidateRangeEnd(t, range);
    return cleared;
  }

  /** The driver frees its pages (a buffer destroyed): each goes at its last reference. */
  release(): void {
    const mem = this.vma.mm.host.mem;
    const order = this.kind === 'non-refcounted' ? DRIVER_BLOCK_ORDER : 0;
    for (let i = 0; i < this.pages.length; i++)
      if (this.pages[i] >= 0) {
        mem.freePages(this.pages[i], order);
        this.pages[i] = -1;
      }
  }
}

/**
 * mmap of a driver's memory: `bytes` of `kind`, with leaves at host page-table `level` for a
 * PFNMAP (vfio-pci's BAR, placed above RAM and aligned to the mapping size, as
 * pci_bus_alloc_resource and vfio's get_unmapped_area do). Throws a UserError for a bad size.
 */
export function mmapDevice(mm: Mm, kind: DeviceKind, bytes: number, level = 1): DeviceMapping {
  checkDeviceSize(kind, bytes, level);
  const lvl = kind === 'pfnmap' ? level : 1;
  const vma = mm.mmap(bytes, 'device', true, levelPages(kind === 'non-refcounted' ? 2 : lvl) * PAGE_SIZE);
  vma.vmFlags = kind === 'mixedmap' ? VM_MIXEDMAP : VM_IO | VM_PFNMAP;
  const dev = new DeviceMapping(vma, kind, lvl);
  if (kind === 'pfnmap') {
    const host = mm.host;
    const span = levelPages(lvl);
    const start = Math.ceil(Math.max(host.iomemNextPfn, host.mem.maxPfn) / span) * span;
    if (start + bytes / PAGE_SIZE > PTE_MAX_PFN + 1)
      throw new UserError(`PFNMAP of ${bytes} bytes does not fit below the highest pfn a host PTE can map`);
    dev.barPfn = start;
    host.iomemNextPfn = start + bytes / PAGE_SIZE;
  }
  vma.fault = (t, _vma, hva, write) => dev.fault(t, hva, write);
  return dev;
}
