/**
 * Models no kernel file: the host threads that run beside the vCPU when `mmulab faultin` backs
 * guest memory with a MAP_SHARED file (`file`: a disk filesystem's regular file, with write
 * notification; `shmem`: the same file mapped without write notification, as vma_wants_writenotify
 * leaves shmem and ramfs, so dirtiness lives in the PTEs' and SPTEs' dirty bits). The flusher
 * (mm/fs-writeback.c's wb_workfn, compressed from dirty_writeback_centisecs to `flushPeriodNs`)
 * runs write_cache_pages over the file each period; reclaim (mm/vmscan.c's kswapd, one batch of
 * shrink_folio_list calls per period) walks the file's folios in order like an LRU tail. The
 * lost-write oracle (../lost-write/oracle.ts) tracks every guest write's value, the writebacks the
 * guest did not need, and what the disk holds once the VMM has deleted the memslot and synced.
 */
import { PAGE_SIZE } from '../../host/page-table.ts';
import { writeCachePages } from '../../host/page-writeback.ts';
import { shrinkFileFolio } from '../../host/vmscan-file.ts';
import { CAT } from '../../sim/accounting.ts';
import type { SimThread, ThreadBody } from '../../sim/thread.ts';
import { LostWriteOracle } from '../lost-write/oracle.ts';
import { FAULTIN_GPA, type FaultinVm } from './faultin-vm.ts';

/** How often the flusher and reclaim run, and how many folios reclaim tries each time. */
export interface FileWritebackPace {
  /** Flusher period (the kernel's dirty_writeback_centisecs is 5 s; compressed). */
  flushPeriodNs: number;
  /** Reclaim period and batch (folios shrink_folio_list is called on per period). */
  reclaimPeriodNs: number;
  reclaimBatch: number;
}

/** The pace `mmulab faultin` runs at: both every 10 ms, reclaim 512 folios (2 MiB) at a time. */
export const DEFAULT_FILE_PACE: FileWritebackPace = {
  flushPeriodNs: 10_000_000,
  reclaimPeriodNs: 10_000_000,
  reclaimBatch: 512,
};

/** The threads' shared state and the oracle of one run. */
export class FileWriteback {
  readonly oracle: LostWriteOracle;
  /** Set by the vCPU when the guest is done; the threads finish their pass and exit. */
  done = false;
  private running = 0;

  constructor(readonly vm: FaultinVm) {
    const file = vm.vma.file;
    if (file === null) throw new Error('file writeback on a VMA without a file');
    this.oracle = new LostWriteOracle({
      ...vm,
      engine: vm.host.engine,
      file,
      baseGfn: FAULTIN_GPA / PAGE_SIZE,
    });
  }

  /** The flusher thread's body: a write_cache_pages pass each period until `done`. */
  *flusher(t: SimThread, pace: FileWritebackPace): ThreadBody {
    this.running++;
    const file = this.vm.vma.file!;
    const hooks = { onCleaned: (off: number) => this.oracle.cleaned(off) };
    while (!this.done) {
      t.until(CAT.other, t.now + pace.flushPeriodNs);
      yield;
      yield* writeCachePages(t, this.vm.host, file, false, hooks);
    }
    this.running--;
  }

  /** The reclaim thread's body: shrink_folio_list on the next `reclaimBatch` folios each period. */
  *reclaim(t: SimThread, pace: FileWritebackPace): ThreadBody {
    this.running++;
    const file = this.vm.vma.file!;
    let off = 0;
    while (!this.done) {
      t.until(CAT.other, t.now + pace.reclaimPeriodNs);
      for (let i = 0; i < pace.reclaimBatch && !this.done; i++) {
        if (t.mustSync()) yield;
        shrinkFileFolio(t, this.vm.host, file, off);
        off = (off + 1) % file.pages.length;
      }
      yield;
    }
    this.running--;
  }

  /**
   * The run's end, on the vCPU's thread once the guest is done: wait for the flusher and reclaim
   * to stop, delete the memslot (KVM zaps every SPTE, marking what its policy marks), then fsync
   * (write_cache_pages with WB_SYNC_ALL) and check that the disk holds every last write.
   */
  *finish(t: SimThread): ThreadBody {
    this.done = true;
    while (this.running > 0) {
      t.until(CAT.other, t.now + 1_000_000);
      yield;
    }
    const r = yield* this.vm.kvm.setMemoryRegion(t, 0, 0, 0, FAULTIN_GPA, 0, this.vm.vma.start);
    if (r !== 0) throw new Error(`deleting memslot 0: ${r}`);
    const hooks = { onCleaned: (off: number) => this.oracle.cleaned(off) };
    yield* writeCachePages(t, this.vm.host, this.vm.vma.file!, true, hooks);
    this.oracle.check(0, true);
  }
}
