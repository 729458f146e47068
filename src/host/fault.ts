/**
 * Models mm/memory.c: handle_mm_fault (handleMmFault) with do_anonymous_page, do_wp_page,
 * do_swap_page, do_numa_page (numa-fault.ts), do_huge_pmd_anonymous_page and the shmem fault path;
 * shared regular-file faults are in filemap-fault.ts.
 */
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import { privateFileFault, sharedFileFault } from './filemap-fault.ts';
import type { Host } from './host.ts';
import type { Mm } from './mm.ts';
import { doNumaPage } from './numa-fault.ts';
import { PG_HEAD, PG_HUGETLB, PG_SWAPBACKED, PG_TAIL } from './page-flags.ts';
import {
  isSwapPte,
  mkPte,
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_PRESENT,
  PTE_PSE,
  PTE_WRITE,
  ptePfn,
  pteProtnone,
} from './page-table.ts';
import { shmemSwapSlot, type Vma } from './vma.ts';

/** handle_mm_fault results (a subset of vm_fault_t). */
export const VM_FAULT_OK = 0;
export const VM_FAULT_SIGSEGV = 1;
export const VM_FAULT_OOM = 2;
/** VM_FAULT_SIGBUS: a driver's fault handler found nothing to map. */
export const VM_FAULT_SIGBUS = 3;

/** Host faults, counted by kind. */
export class HostFaultStats {
  anon = 0;
  /** do_swap_page: swap-ins of evicted pages (refaults). */
  swapIn = 0;
  /** do_wp_page reusing an exclusive anonymous page (after a read-only swap-in). */
  wpReuse = 0;
  zeroPage = 0;
  cow = 0;
  shmem = 0;
  /** filemap_fault on a regular file: page-cache hits and reads from disk. */
  file = 0;
  fileReads = 0;
  huge = 0;
  spurious = 0;
  /** wp_page_shared: a write to a read-only PTE of a shared file mapping. */
  wpShared = 0;
  /** do_cow_fault: a write to a private file mapping, copied into a new anonymous folio. */
  cowFile = 0;
}

/**
 * handle_mm_fault (mm/memory.c) for the backings the model has: anonymous 4 KiB (the zero page on a
 * read fault, copy-on-write on the first write to it), anonymous THP and hugetlb (PMD leaves) and
 * shmem (page-cache lookup, then a PTE), and a driver's VMA through its vm_ops fault handler. New
 * frames are allocated, cleared and, except hugetlb, added to the LRU through the per-CPU batch.
 */
export function handleMmFault(t: SimThread, mm: Mm, hva: number, write: boolean): number {
  const vma = mm.findVma(hva);
  if (vma === null || (write && !vma.writable)) return VM_FAULT_SIGSEGV;
  const start = faultEntry(t, mm);
  const ret =
    vma.fault !== null
      ? vma.fault(t, vma, hva, write)
      : vma.folioPages === 512
        ? faultPmd(t, mm, vma, hva, write)
        : faultPte(t, mm, vma, hva, write);
  return faultExit(t, mm, hva, write, ret, start);
}

/**
 * `handleMmFault` for a caller that can yield: the same fault, except that a huge anonymous fault
 * lets the other threads catch up between clear_huge_page and mapping the folio, so the locks it
 * takes after the clear (lru_lock in folio_add_lru) are taken in simulated-time order. The clear
 * can wait milliseconds for memory bandwidth; a thread that took a lock that far ahead of the
 * others would make them wait for a release that has not happened yet.
 */
export function* handleMmFaultSteps(
  t: SimThread,
  mm: Mm,
  hva: number,
  write: boolean,
): Generator<void, number, void> {
  const vma = mm.findVma(hva);
  if (vma === null || (write && !vma.writable) || vma.fault !== null || vma.folioPages !== 512)
    return handleMmFault(t, mm, hva, write);
  const start = faultEntry(t, mm);
  const pfn = faultPmdAlloc(t, mm, vma, hva, write);
  if (pfn >= 0 && t.mustSync()) yield;
  return faultExit(t, mm, hva, write, faultPmdFinish(t, mm, vma, hva, pfn), start);
}

/** handle_mm_fault's own cost, before the backing's path; returns the fault's start time. */
function faultEntry(t: SimThread, mm: Mm): number {
  const start = t.now;
  t.advance(t.jittered(mm.host.engine.profile.hostFaultNs));
  return start;
}

function faultExit(t: SimThread, mm: Mm, hva: number, write: boolean, ret: number, start: number): number {
  const tr = mm.host.engine.trace;
  if (tr !== null) tr.emit(t, 'handle_mm_fault', { hva, write, ret, ns: t.now - start });
  return ret;
}

function faultPte(t: SimThread, mm: Mm, vma: Vma, hva: number, write: boolean): number {
  if (vma.file !== null && !vma.file.shmem)
    return vma.kind === 'file-private'
      ? privateFileFault(t, mm, vma, hva, write)
      : sharedFileFault(t, mm, vma, hva, write);
  const host = mm.host;
  const p = host.engine.profile;
  const stats = host.faultStats;
  const vpn = Math.floor(hva / 4096);
  let idx = mm.pt.walk(mm.pgd, vpn, 1, true);
  t.advance(4 * p.ptWalkLevelNs);
  const e = mm.pt.entries[idx];
  // do_numa_page: a PROT_NONE PTE left by change_prot_numa in an accessible VMA.
  if (pteProtnone(e)) return doNumaPage(t, mm, vma, idx);
  if (e & PTE_PRESENT) {
    if (!write || e & PTE_WRITE) {
      stats.spurious++;
      mm.pt.entries[idx] = e | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
      return VM_FAULT_OK;
    }
    if (ptePfn(e) !== host.mem.zeroPfn && vma.file === null) {
      // do_wp_page on an exclusive anonymous page: reuse it.
      stats.wpReuse++;
      mm.pt.entries[idx] = e | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY;
      return VM_FAULT_OK;
    }
    // do_wp_page on the zero page: wp_page_copy with an invalidation around the PTE change.
    stats.cow++;
    const pfn = newAnonFolio(t, mm, vma, hva, 0);
    if (pfn < 0) return VM_FAULT_OOM;
    const start = vpn * 4096;
    const range = { mm, start, end: start + 4096, event: 'clear' as const, blockable: true };
    host.mmuNotifier.invalidateRangeStart(t, range);
    idx = mm.pt.walk(mm.pgd, vpn, 1, true);
    mm.pt.entries[idx] = mkPte(pfn, PTE_PRESENT | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY);
    host.mmuNotifier.invalidateRangeEnd(t, range);
    host.lru.add(t, pfn);
    return VM_FAULT_OK;
  }
  if (vma.file !== null) {
    // shmem_fault: find the page-cache page or bring it in from swap, then map it.
    const file = vma.file;
    stats.shmem++;
    const off = Math.floor((hva - vma.start) / 4096);
    let pfn = file.pages[off];
    if (pfn < 0) {
      const old = pfn;
      pfn = newAnonFolio(t, mm, vma, hva, 0, true);
      if (pfn < 0) return VM_FAULT_OOM;
      const slot = shmemSwapSlot(old);
      // shmem_swapin_folio: a page written out earlier comes back from its slot.
      if (slot >= 0) swapIn(t, host, pfn, slot);
      file.pages[off] = pfn;
      host.lru.add(t, pfn);
    }
    idx = mm.pt.walk(mm.pgd, vpn, 1, true);
    const prot = PTE_PRESENT | PTE_ACCESSED | (vma.writable ? PTE_WRITE : 0) | (write ? PTE_DIRTY : 0);
    mm.pt.entries[idx] = mkPte(pfn, prot);
    mm.rss++;
    return VM_FAULT_OK;
  }
  if (isSwapPte(e)) return doSwapPage(t, mm, vma, hva, idx, write);
  if (!write) {
    // do_anonymous_page, read: map the shared zero page read-only.
    stats.zeroPage++;
    mm.pt.entries[idx] = mkPte(host.mem.zeroPfn, PTE_PRESENT | PTE_ACCESSED);
    return VM_FAULT_OK;
  }
  stats.anon++;
  return mapNewAnonFolio(t, mm, vpn, newAnonFolio(t, mm, vma, hva, 0));
}

/**
 * The end of do_anonymous_page and do_cow_fault: map the new anonymous folio `pfn` (-1: the
 * allocation failed) writable and dirty at `vpn`, count it in the mm's rss and add it to the LRU.
 */
export function mapNewAnonFolio(t: SimThread, mm: Mm, vpn: number, pfn: number): number {
  if (pfn < 0) return VM_FAULT_OOM;
  const idx = mm.pt.walk(mm.pgd, vpn, 1, true);
  mm.pt.entries[idx] = mkPte(pfn, PTE_PRESENT | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY);
  mm.rss++;
  mm.host.lru.add(t, pfn);
  return VM_FAULT_OK;
}

function faultPmd(t: SimThread, mm: Mm, vma: Vma, hva: number, write: boolean): number {
  return faultPmdFinish(t, mm, vma, hva, faultPmdAlloc(t, mm, vma, hva, write));
}

/** The fault's result after `faultPmdAlloc` gave `pfn`: map a new folio, or report what happened. */
function faultPmdFinish(t: SimThread, mm: Mm, vma: Vma, hva: number, pfn: number): number {
  if (pfn === PMD_SPURIOUS) return VM_FAULT_OK;
  return pfn < 0 ? VM_FAULT_OOM : faultPmdMap(t, mm, vma, hva, pfn);
}

/** `faultPmdAlloc` results other than a new folio: the PMD was mapped already; out of memory. */
const PMD_SPURIOUS = -1;
const PMD_OOM = -2;

/**
 * The first half of do_huge_pmd_anonymous_page / hugetlb_fault: walk to the PMD; if it is mapped
 * already, a spurious fault (PMD_SPURIOUS); else allocate and clear a 2 MiB folio and return it.
 * (A read fault allocates too: the huge zero page is not modelled.)
 */
function faultPmdAlloc(t: SimThread, mm: Mm, vma: Vma, hva: number, write: boolean): number {
  const host = mm.host;
  const idx = mm.pt.walk(mm.pgd, Math.floor(hva / 4096), 2, true);
  t.advance(3 * host.engine.profile.ptWalkLevelNs);
  const e = mm.pt.entries[idx];
  if (e & PTE_PRESENT) {
    host.faultStats.spurious++;
    mm.pt.entries[idx] = e | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    return PMD_SPURIOUS;
  }
  host.faultStats.huge++;
  const headVa = Math.floor(hva / (512 * 4096)) * 512 * 4096;
  const pfn = newAnonFolio(t, mm, vma, headVa, 9);
  return pfn < 0 ? PMD_OOM : pfn;
}

/** The second half: map the new folio `pfn` with a PMD leaf and add it to the LRU (not hugetlb). */
function faultPmdMap(t: SimThread, mm: Mm, vma: Vma, hva: number, pfn: number): number {
  const host = mm.host;
  const idx = mm.pt.walk(mm.pgd, Math.floor(hva / 4096), 2, true);
  // The kernel rechecks pmd_none under the PMD lock and frees its folio if another fault won; the
  // model's faulting threads never share a PMD between the halves.
  if (mm.pt.entries[idx] & PTE_PRESENT) throw new Error('faultPmdMap: the PMD was mapped meanwhile');
  mm.pt.entries[idx] = mkPte(pfn, PTE_PRESENT | PTE_WRITE | PTE_ACCESSED | PTE_DIRTY | PTE_PSE);
  mm.rss += 512;
  if (vma.kind !== 'anonymous_hugetlb') host.lru.add(t, pfn);
  return VM_FAULT_OK;
}

/**
 * do_swap_page: bring an evicted page back: allocate a frame, read the slot, free it, map the page
 * (writable and dirty on a write fault, read-only otherwise) and put the folio on the LRU.
 */
function doSwapPage(t: SimThread, mm: Mm, vma: Vma, hva: number, idx: number, write: boolean): number {
  const host = mm.host;
  const swap = host.swap;
  if (swap === null) return VM_FAULT_SIGSEGV;
  const slot = ptePfn(mm.pt.entries[idx]);
  const pfn = newAnonFolio(t, mm, vma, hva, 0);
  if (pfn < 0) return VM_FAULT_OOM;
  swapIn(t, host, pfn, slot);
  const i = mm.pt.walk(mm.pgd, Math.floor(hva / 4096), 1, true);
  mm.pt.entries[i] = mkPte(pfn, PTE_PRESENT | PTE_ACCESSED | (write ? PTE_WRITE | PTE_DIRTY : 0));
  mm.rss++;
  host.lru.add(t, pfn);
  return VM_FAULT_OK;
}

/**
 * Allocates, clears (or, with `copyFrom`, fills with a copy of that page) and charges a folio of
 * 2^order pages for `vma` at `hva`, and sets its rmap; swap-backed (anonymous, shmem) unless it is a
 * regular file's page-cache folio.
 */
export function newAnonFolio(
  t: SimThread,
  mm: Mm,
  vma: Vma,
  hva: number,
  order: number,
  swapBacked = true,
  copyFrom = -1,
): number {
  const host = mm.host;
  const mem = host.mem;
  const p = host.engine.profile;
  // alloc_pages on numa_node_id(), then clear_page: its stores (with the reads for ownership) stream
  // through the node's memory controllers, shared with every other CPU zeroing there. A copy
  // (`copyFrom`, copy_user_highpage of do_cow_fault) runs at clear_page's speed and streams the
  // source page too.
  const pfn = mem.allocPages(t, host.engine.topology.nodeOf(t.cpu), order);
  if (pfn < 0) return -1;
  const n = 1 << order;
  const cat = copyFrom < 0 ? CAT.pageZeroing : CAT.pageCopy;
  const zeroNs = t.cpuSpan(cat, t.jittered(p.pageZeroNsPer4K * n));
  const bytes = (copyFrom < 0 ? 2 : 3) * 4096 * n;
  const zeroed = mem.nodes[mem.pfnToNid(pfn)].bandwidth.transfer(t.now, bytes, zeroNs);
  t.until(cat, t.now + zeroNs);
  t.until(CAT.memBandwidth, zeroed);
  if (copyFrom >= 0 && mem.data.length > 0) mem.data[pfn] = mem.data[copyFrom];
  // mem_cgroup_charge (hugetlb folios are not charged to the memcg's memory counter).
  if (vma.kind !== 'anonymous_hugetlb') host.memcgCharge.charge(t, mm.memcg, n);
  const off = Math.floor((hva - vma.start) / 4096);
  const memcg = mm.memcg.id;
  for (let i = 0; i < n; i++) {
    mem.flags[pfn + i] |= (swapBacked ? PG_SWAPBACKED : 0) | (order > 0 ? (i === 0 ? PG_HEAD : PG_TAIL) : 0);
    if (vma.kind === 'anonymous_hugetlb') mem.flags[pfn + i] |= PG_HUGETLB;
    mem.setMapping(pfn + i, vma.mappingId);
    mem.index[pfn + i] = off + i;
    mem.setMemcg(pfn + i, memcg);
  }
  mm.memcg.pages += n;
  return pfn;
}

/** The pfn a present leaf entry maps for `vpn` (adds the offset inside a huge leaf). */
export function leafPfn(entry: number, level: number, vpn: number): number {
  return ptePfn(entry) + (level === 2 ? vpn & 511 : level === 3 ? vpn & 0x3ffff : 0);
}

/** swap_read_folio into the new folio `pfn`, then workingset_refault and swap_free of the slot. */
function swapIn(t: SimThread, host: Host, pfn: number, slot: number): void {
  const swap = host.swap!;
  swap.io(t, t.jittered(host.engine.profile.swapInNs), host.engine.profile.swapPageTransferNs);
  host.mem.data[pfn] = swap.data[slot];
  host.lruGen?.onRefault(pfn, swap.shadow, slot);
  swap.freeSlot(slot);
  swap.swapIns++;
  host.faultStats.swapIn++;
  const tr = host.engine.trace;
  if (tr !== null) tr.emit(t, 'swap_in', { pfn, slot });
}
