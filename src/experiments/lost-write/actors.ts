/**
 * Models no kernel file: the three threads of a lost-write run as step generators: the vCPU
 * (guest accesses through the EPT, EPT violations through KVM's fault path, split where the kernel
 * lets other threads in: after fault-in, before mmu_lock), the flusher (write_cache_pages) and
 * reclaim (shrink_folio_list on one file folio). Each `next()` is one step; each yields what it did.
 */

import { ACCESS_DONE, cpuAccess, EPT_MISCONFIG, VIOLATION_PRESENT } from '../../guest/memstress.ts';
import { writeCachePages } from '../../host/page-writeback.ts';
import { shrinkFileFolio } from '../../host/vmscan-file.ts';
import { EPT_DONE, EPT_SLOW, handleEptViolationNext, handleEptViolationStart } from '../../kvm/vcpu.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { LostWriteVm } from './lost-write-vm.ts';
import type { LostWriteOracle } from './oracle.ts';

/** An actor: each step yields a description of what it did. */
export type Actor = Generator<string, void, void>;

/** One guest access: a page of the file-backed region, read or written. */
export interface GuestAccess {
  page: number;
  write: boolean;
}

/** State the explorer reads between steps. */
export interface ActorState {
  /** The step being run (for the oracle). */
  step: number;
  /** The vCPU is between accesses (no fault in flight). */
  vcpuIdle: boolean;
  /** The flusher is between passes (no writeback of its in flight). */
  flusherIdle: boolean;
}

/**
 * The vCPU: takes accesses from `program` until it returns null. A write stores the next sequence
 * number. An EPT violation is a step of its own up to fault-in (or the fast page fault, which fixes
 * the SPTE without mmu_lock), and the map under mmu_lock another.
 */
export function* vcpuActor(
  t: SimThread,
  vm: LostWriteVm,
  oracle: LostWriteOracle,
  program: () => GuestAccess | null,
  st: ActorState,
): Actor {
  const { vcpu, kvm } = vm;
  for (;;) {
    const a = program();
    if (a === null) return;
    st.vcpuIdle = false;
    const gfn = vm.baseGfn + a.page;
    const value = a.write ? oracle.writes + 1 : 0;
    const what = a.write ? `write #${value} to p${a.page}` : `read p${a.page}`;
    for (;;) {
      const r = cpuAccess(t, vcpu, gfn, a.write, value);
      if (r === ACCESS_DONE) break;
      if (r === EPT_MISCONFIG) throw new Error(`gfn ${gfn}: an MMIO SPTE in guest RAM`);
      const fast = kvm.stats.fastPageFaults;
      handleEptViolationStart(t, vcpu, gfn, a.write, r === VIOLATION_PRESENT);
      const s = handleEptViolationNext(t, vcpu);
      if (s === EPT_SLOW) throw new Error('lost-write: no reclaim before fault-in is modelled');
      if (s === EPT_DONE) {
        yield `${what}: EPT violation, ${kvm.stats.fastPageFaults > fast ? 'fast page fault (no mmu_lock)' : 'retried'}`;
        continue;
      }
      yield `${what}: EPT violation, fault-in`;
      handleEptViolationNext(t, vcpu);
      yield `${what}: map under mmu_lock`;
    }
    if (a.write) oracle.wrote(a.page, value, st.step);
    st.vcpuIdle = true;
    yield a.write ? `${what}: stored` : `${what}: done`;
  }
}

/** The flusher: write_cache_pages passes over the file, one step per folio cleaned and per I/O. */
export function* flusherActor(t: SimThread, vm: LostWriteVm, oracle: LostWriteOracle, st: ActorState): Actor {
  let what = '';
  const hooks = {
    onCleaned: (off: number) => {
      oracle.cleaned(off);
      what = `p${off}: folio_clear_dirty_for_io, writeback submitted`;
    },
    onWritten: (off: number) => {
      what = `p${off}: I/O done, folio_end_writeback`;
    },
  };
  for (;;) {
    st.flusherIdle = false;
    let any = false;
    for (const _ of writeCachePages(t, vm.host, vm.file, false, hooks)) {
      any = true;
      yield what;
    }
    st.flusherIdle = true;
    if (!any) yield 'no dirty folio';
  }
}

/** Reclaim: shrink_folio_list on the folio `pick` names, one step each. */
export function* reclaimActor(t: SimThread, vm: LostWriteVm, pick: () => number): Actor {
  for (;;) {
    const off = pick();
    const r = shrinkFileFolio(t, vm.host, vm.file, off);
    yield `p${off}: shrink_folio_list: ${r}`;
  }
}
