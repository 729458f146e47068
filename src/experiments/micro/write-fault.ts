/**
 * A user store that traps into a first-touch fault (do_user_addr_fault in arch/x86/mm/fault.c, then
 * handle_mm_fault), shared by the micro fault experiments (`page-fault.ts`, `pft.ts`).
 */
import { handleMmFaultSteps, VM_FAULT_OK } from '../../host/fault.ts';
import type { Mm } from '../../host/mm.ts';
import { MmapSem } from '../../host/mmap-sem.ts';
import { PAGE_SIZE, PTE_PRESENT, PTE_WRITE } from '../../host/page-table.ts';
import { CAT } from '../../sim/accounting.ts';
import type { CacheLine } from '../../sim/cache-line.ts';
import type { SimThread } from '../../sim/thread.ts';

/** One task's process view: its mm, the mm's lock protocol and the mm's tasks' CPUs. */
export interface TaskMm {
  mm: Mm;
  sem: MmapSem;
  threads: SimThread[];
}

/**
 * The fault path's mmap_lock protocol for `mm` as a kernel of the references had it: up to 5.13
 * (`upTo513`), mm_struct keeps the lock's `count` and `owner` in one cache line (offset 128, until
 * 2e3025434a6b in 5.14) and __down_read_trylock's first cmpxchg expects an unlocked count
 * (ddb20d1d3aed, until 14c240488411 in 5.16); from 5.16 on, `owner` has a line of its own and the
 * trylock reads the count first.
 */
export function referenceMmapSem(mm: Mm, upTo513: boolean): MmapSem {
  const sem = new MmapSem(mm);
  if (upTo513) {
    sem.trylockFlavour = 'expect-unlocked';
    mm.setMmapLockOwnerInCountLine();
  } else sem.trylockFlavour = 'read-first';
  return sem;
}

/**
 * A first-touch write that traps: exception entry and exit (the model's system call figure stands
 * for it), then the fault under mmap_lock for read (do_user_addr_fault's mmap_read_trylock, held
 * across a huge fault's steps so a writer waits for it) or under the VMA's lock (`vmaLock`:
 * lock_vma_under_rcu), handle_mm_fault, and the unlock.
 */
export function* writeFault(
  t: SimThread,
  tm: TaskMm,
  va: number,
  vmaLock: CacheLine | null,
  entryCat: number,
): Generator<void, void, void> {
  const { mm, sem } = tm;
  t.advanceAs(entryCat, mm.host.engine.profile.syscallNs);
  const prev = t.enter(CAT.hostFault);
  if (vmaLock !== null) {
    // lock_vma_under_rcu: vma_start_read's down_read_trylock (read the count, cmpxchg from it
    // until no other CPU came in between), then vma_end_read's up_read.
    if (t.mustSync()) yield;
    vmaLock.rmwBy(t);
    while (!vmaLock.rmwFollowsBy(t));
    // A huge fault lets the other threads catch up after its clear (handleMmFaultSteps);
    // the VMA lock is a count on its line, nothing to hold across the step.
    if ((yield* handleMmFaultSteps(t, mm, va, true)) !== VM_FAULT_OK)
      throw new Error(`${t.name}: fault failed`);
    vmaLock.rmwBy(t);
  } else {
    yield* sem.faultReadLock(t);
    sem.holdFault(t);
    if ((yield* handleMmFaultSteps(t, mm, va, true)) !== VM_FAULT_OK)
      throw new Error(`${t.name}: fault failed`);
    sem.readUnlockFault(t);
  }
  t.leave(prev);
}

/** Whether a present, writable leaf (a PTE or a THP's PMD) maps `va`: the store will not trap. */
export function isMappedWritable(mm: Mm, va: number): boolean {
  const idx = mm.pt.walk(mm.pgd, Math.floor(va / PAGE_SIZE), 1, false);
  if (idx < 0) return false;
  const e = mm.pt.entries[idx];
  return (e & PTE_PRESENT) !== 0 && (e & PTE_WRITE) !== 0;
}
