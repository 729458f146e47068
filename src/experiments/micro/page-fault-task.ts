/**
 * Models no kernel file: experiment: one task's loop of will-it-scale's page_fault tests
 * (tests/page_fault1.c, page_fault3.c): mmap, a write per page, munmap, for `micro page-fault`
 * (page-fault.ts).
 */
import { type TlbFlushStats, unmapRegion } from '../../host/munmap.ts';
import { PAGE_SIZE } from '../../host/page-table.ts';
import { CAT } from '../../sim/accounting.ts';
import type { CacheLine } from '../../sim/cache-line.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { WaitCount } from '../../sync/wait-count.ts';
import { isMappedWritable, type TaskMm, writeFault } from './write-fault.ts';

/**
 * One task of page_fault1 (or page_fault3): per iteration, mmap (mmap_lock for write), one write
 * per page, which faults when no writable leaf maps the page (every write without THP, the first
 * per 2 MiB with it), munmap (mmap_lock for write, downgraded for the zap and, for anonymous memory,
 * the free). `done` gets the pages written and the iteration; after the first, a task waits at
 * `warm` (page_fault3: until every task has filled its page cache). `counts` gets the faults taken
 * and the folios munmap freed.
 */
export function* pageFaultTask(
  t: SimThread,
  tm: TaskMm,
  vma: { start: number; end: number },
  vmaLock: CacheLine | null,
  iterations: number,
  warm: WaitCount | null,
  cat: { entry: number; mmap: number; munmap: number },
  flush: TlbFlushStats,
  counts: { faults: number; foliosFreed: number },
  done: (pages: number, iteration: number) => void,
): Generator<void, void, void> {
  const { mm, sem } = tm;
  const p = mm.host.engine.profile;
  const cpusOfMm = () => tm.threads.map((x) => x.cpu);
  // Without THP every write faults (each iteration maps fresh memory), so only a THP mapping needs
  // the page-table check per write.
  const thp = mm.findVma(vma.start)?.folioPages === 512;
  for (let k = 0; k < iterations; k++) {
    // mmap: system call, mmap_region under mmap_lock for write.
    t.advanceAs(CAT.syscall, p.syscallNs);
    let prev = t.enter(cat.mmap);
    yield* sem.writeLock(t);
    sem.writeUnlock(t);
    t.leave(prev);
    let written = 0;
    for (let va = vma.start; va < vma.end; va += PAGE_SIZE) {
      written++;
      // A write the TLB or the page walk finds a writable leaf for does not trap: with THP, the 511
      // writes after a huge fault. Their time is not charged: a store each to a page whose lines
      // clear_huge_page just wrote (process_huge_page clears the target subpage last), mostly hits
      // in L2 or the LLC, a few ns each, so 511 x ~2-4 ns = 1-2 us against the ~130 us the model
      // charges for clearing 2 MiB (about 1 %; the model has no user-store term to charge it by).
      if (thp && isMappedWritable(mm, va)) continue;
      counts.faults++;
      yield* writeFault(t, tm, va, vmaLock, cat.entry);
    }
    // munmap: mmap_lock for write to detach the VMA, downgraded to read for unmap_region.
    t.advanceAs(CAT.syscall, p.syscallNs);
    prev = t.enter(cat.munmap);
    yield* sem.writeLock(t);
    sem.downgradeWrite(t);
    counts.foliosFreed += yield* unmapRegion(t, mm, vma.start, vma.end, cpusOfMm, flush);
    sem.readUnlockDowngraded(t);
    t.leave(prev);
    done(written, k);
    if (k === 0 && warm !== null) {
      warm.add(t, -1);
      if (warm.value > 0) yield warm.waitZero(t);
    }
  }
}
