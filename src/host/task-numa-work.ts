/**
 * Models kernel/sched/fair.c: task_tick_numa (the tick that queues the scan as task_work) and
 * task_numa_work (taskNumaWork), which walks the mm's VMAs from numa_scan_offset and calls
 * change_prot_numa on chunks of scan_size_mb, then reset_ptenuma_scan at the end of the mm.
 */
import type { SimThread } from '../sim/thread.ts';
import { changeProtNuma } from './mprotect.ts';
import type { NumaBalancing } from './numa-balancing.ts';
import { PAGE_SIZE } from './page-table.ts';
import type { Vma } from './vma.ts';

/** TICK_NSEC at HZ=250: how often task_tick_numa looks. */
export const TICK_NSEC = 4_000_000;
const NS_PER_MS = 1_000_000;
/** HPAGE_SIZE: chunk ends are rounded up to it. */
const HPAGE_SIZE = 512 * PAGE_SIZE;

/**
 * vma_migratable and the other filters of task_numa_work: no hugetlb (is_vm_hugetlb_page), no
 * VM_PFNMAP/VM_IO/VM_MIXEDMAP, no read-only file mappings. THP VMAs are left out too: the model
 * has no change_huge_pmd (a deviation: the kernel scans them with PMD-level hinting faults).
 */
export function vmaNumaScannable(vma: Vma): boolean {
  if (vma.vmFlags !== 0) return false;
  if (vma.kind === 'anonymous_hugetlb' || vma.kind === 'anonymous_thp') return false;
  return !(vma.file !== null && !vma.writable);
}

/**
 * task_numa_work: once numa_next_scan has passed and this task wins the cmpxchg that moves it one
 * scan period on, make up to scan_size_mb of present PTEs PROT_NONE (scanning at most 8x that much
 * virtual space), starting where the last scan stopped. mmap_lock is taken with a trylock; a busy
 * lock skips the scan. The runtime spent here is charged 32-fold to node_stamp (the 3 % cap).
 * Returns whether it scanned.
 */
export function taskNumaWork(t: SimThread, nb: NumaBalancing): boolean {
  const mm = nb.mm;
  const now = t.now;
  if (now < nb.numaNextScan) return false;
  if (nb.numaScanPeriod === 0) nb.numaScanPeriod = nb.taskScanStart();
  nb.numaNextScan = now + nb.numaScanPeriod * NS_PER_MS;
  // Delay this task enough that another task of this mm will likely win the next time around.
  nb.nodeStamp += 2 * TICK_NSEC;
  let pages = nb.scanPages;
  let virtpages = pages * 8;
  if (!mm.mmapLock.tryReadLock(t)) return false;
  nb.stats.scans++;
  let start = nb.numaScanOffset;
  let vi = mm.vmas.findIndex((v) => v.end > start);
  if (vi < 0) {
    resetPtenumaScan(nb);
    start = 0;
    vi = 0;
  }
  let done = false;
  for (; vi < mm.vmas.length && !done; vi++) {
    const vma = mm.vmas[vi];
    if (!vmaNumaScannable(vma)) continue;
    let end: number;
    do {
      start = Math.max(start, vma.start);
      end = Math.min(Math.ceil((start + pages * PAGE_SIZE) / HPAGE_SIZE) * HPAGE_SIZE, vma.end);
      const updated = changeProtNuma(t, vma, start, end);
      // Try to make scan_size_mb of PTEs PROT_NONE; ranges with none to update only use up virtpages.
      if (updated > 0) pages -= (end - start) / PAGE_SIZE;
      virtpages -= (end - start) / PAGE_SIZE;
      start = end;
      if (pages <= 0 || virtpages <= 0) {
        done = true;
        break;
      }
    } while (end !== vma.end);
  }
  if (vi < mm.vmas.length || done) nb.numaScanOffset = start;
  else resetPtenumaScan(nb);
  mm.mmapLock.readUnlock(t);
  nb.nodeStamp += 32 * (t.now - now);
  return true;
}

/** reset_ptenuma_scan: the next scan starts over at address 0, in a new numa_scan_seq. */
function resetPtenumaScan(nb: NumaBalancing): void {
  nb.numaScanSeq++;
  nb.stats.scanSeq = nb.numaScanSeq;
  nb.numaScanOffset = 0;
}

/**
 * The scheduler tick of the mm's threads, as far as NUMA balancing sees it (task_tick_numa): every
 * TICK_NSEC it checks whether node_stamp + numa_scan_period has passed and, if numa_next_scan has
 * too, runs task_numa_work as the task_work queued for the return to user mode. The kernel runs it
 * in whichever of the mm's threads ticked (a vCPU thread on its way back into the guest, the main
 * thread spinning); the model runs it in a thread of its own that stands for them, so the scan's
 * time is not charged to a vCPU. Runtime is wall time (the threads are always busy). Ends once
 * `nb.stopped` is set.
 */
export function* taskTickNuma(t: SimThread, nb: NumaBalancing): Generator<void, void, void> {
  const idle = t.engine.categories.id('numa tick (idle)', 'wait');
  const work = t.engine.categories.id('numa balancing', 'cpu');
  nb.nodeStamp = t.now;
  for (;;) {
    t.until(idle, t.now + TICK_NSEC);
    yield;
    if (nb.stopped) return;
    const period = (nb.numaScanPeriod === 0 ? nb.taskScanStart() : nb.numaScanPeriod) * NS_PER_MS;
    if (t.now <= nb.nodeStamp + period) continue;
    nb.nodeStamp += period;
    if (t.now < nb.numaNextScan) continue;
    const prev = t.enter(work);
    taskNumaWork(t, nb);
    t.leave(prev);
  }
}
