/**
 * Models virt/kvm/kvm_main.c: KVM's MMU-notifier callbacks (kvm_mmu_notifier_*) over
 * kvm_handle_hva_range (handleHvaRange).
 */
import type { Mm } from '../host/mm.ts';
import {
  MMU_NOTIFIER_YOUNG,
  MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE,
  MMU_NOTIFIER_YOUNG_FAST,
  type MmuNotifierOps,
  type MmuNotifierRange,
} from '../host/mmu-notifier.ts';
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import type { Kvm } from './kvm.ts';
import { hvaToGfnMemslot } from './memslots.ts';

/** gfn_handler_t choices (kvm_null_fn, kvm_mmu_unmap_gfn_range, kvm_age_gfn, kvm_test_age_gfn). */
enum Handler {
  Null = 0,
  Unmap = 1,
  Age = 2,
  TestAge = 3,
}

/** on_lock_fn_t choices. */
enum OnLock {
  None = 0,
  InvalidateStart = 1,
  InvalidateEnd = 2,
}

/**
 * KVM's MMU-notifier subscription (virt/kvm/kvm_main.c): every callback goes through the generic
 * hva-range walk, which takes mmu_lock (write) only when the range hits a memslot and never for a
 * lockless walk.
 */
export class KvmMmuNotifier implements MmuNotifierOps {
  /** Times `kvm_handle_hva_range` took mmu_lock. */
  lockTaken = 0;
  /** The bitmap of the current bitmap call (test_clear_young_metadata), or null. */
  private bitmap: Uint32Array | null = null;
  private bitmapEnd = 0;

  /** KVM ages without mmu_lock (the 6.15 TDP MMU); fixed when the VM is created. */
  private readonly lockless: boolean;

  constructor(readonly kvm: Kvm) {
    this.lockless = kvm.opts.aging === 'lockless';
  }

  /**
   * kvm_handle_hva_range: for each address space and each memslot overlapping [start, end), clamp,
   * convert to gfns and call the handler; the first matching slot takes mmu_lock and runs on_lock.
   * Flushes remote TLBs when asked and anything returned true. Returns [ret, found_memslot].
   */
  handleHvaRange(
    t: SimThread,
    start: number,
    end: number,
    handler: Handler,
    onLock: OnLock,
    flushOnRet: boolean,
    lockless: boolean,
  ): boolean {
    const kvm = this.kvm;
    if (end <= start || (handler === Handler.Null && onLock === OnLock.None)) return false;
    if (lockless && onLock !== OnLock.None) throw new Error('WARN: lockless walk with on_lock');
    kvm.srcu.readLock(t);
    const prevCtx = t.enter(CAT.kvmNotifier);
    t.advance(kvm.engine.profile.hvaRangeNs);
    let ret = false;
    let found = false;
    outer: for (let as = 0; as < kvm.nrAs; as++) {
      const set = kvm.memslots(as);
      const slots = set.byHva;
      for (let k = set.firstHvaIndex(start); k < slots.length; k++) {
        const slot = slots[k];
        const slotEnd = slot.userspaceAddr + slot.npages * 4096;
        if (slot.userspaceAddr >= end) break;
        if (slotEnd <= start) continue;
        const hvaStart = Math.max(start, slot.userspaceAddr);
        const hvaEnd = Math.min(end, slotEnd);
        const gfnStart = hvaToGfnMemslot(hvaStart, slot);
        const gfnEnd = hvaToGfnMemslot(hvaEnd + 4095, slot);
        if (!found) {
          found = true;
          if (!lockless) {
            kvm.mmuLock.writeLock(t);
            this.lockTaken++;
            if (onLock === OnLock.InvalidateStart) kvm.mmuInvalidateStart();
            else if (onLock === OnLock.InvalidateEnd) kvm.mmuInvalidateEnd();
            if (handler === Handler.Null) break outer;
          }
        }
        switch (handler) {
          case Handler.Unmap:
            // kvm_mmu_unmap_gfn_range
            kvm.mmuInvalidateRangeAdd(gfnStart, gfnEnd);
            ret = kvm.mmu.unmapGfnRange(t, as, gfnStart, gfnEnd) || ret;
            break;
          case Handler.Age:
          case Handler.TestAge: {
            const test = handler === Handler.TestAge;
            if (test) kvm.stats.testAgeGfnCalls++;
            else kvm.stats.ageGfnCalls++;
            const last = this.bitmap === null ? 0 : hvaToGfnMemslot(this.bitmapEnd - 1, slot);
            ret = kvm.mmu.ageGfnRange(t, as, gfnStart, gfnEnd, test, lockless, this.bitmap, last) || ret;
            break;
          }
        }
      }
    }
    if (flushOnRet && ret) kvm.flushRemoteTlbs(t);
    if (found && !lockless) kvm.mmuLock.writeUnlock(t);
    t.leave(prevCtx);
    kvm.srcu.readUnlock(t);
    return ret;
  }

  /** has_fast_aging (seed 003 v7): x86 ages fast when it needs no mmu_lock. */
  get hasFastAging(): boolean {
    return this.lockless;
  }

  /** kvm_mmu_notifier_invalidate_range_start. */
  invalidateRangeStart(t: SimThread, range: MmuNotifierRange): number {
    const kvm = this.kvm;
    kvm.mnActiveInvalidateCount.add(t, 1);
    const before = this.lockTaken;
    this.handleHvaRange(t, range.start, range.end, Handler.Unmap, OnLock.InvalidateStart, true, false);
    if (this.lockTaken !== before) {
      kvm.stats.invalidations++;
      const tr = kvm.engine.trace;
      if (tr !== null) tr.emit(t, 'kvm_unmap_hva_range', { start: range.start, end: range.end });
    }
    return 0;
  }

  /** kvm_mmu_notifier_invalidate_range_end. */
  invalidateRangeEnd(t: SimThread, range: MmuNotifierRange): void {
    this.handleHvaRange(t, range.start, range.end, Handler.Null, OnLock.InvalidateEnd, false, false);
    this.kvm.mnActiveInvalidateCount.add(t, -1);
  }

  /** kvm_mmu_notifier_clear_flush_young: x86 elides the flush (CONFIG_KVM_ELIDE_TLB_FLUSH_IF_YOUNG). */
  clearFlushYoung(t: SimThread, _mm: Mm, start: number, end: number): boolean {
    return this.handleHvaRange(t, start, end, Handler.Age, OnLock.None, false, this.lockless);
  }

  /** kvm_mmu_notifier_clear_young: no flush. */
  clearYoung(t: SimThread, _mm: Mm, start: number, end: number): boolean {
    return this.handleHvaRange(t, start, end, Handler.Age, OnLock.None, false, this.lockless);
  }

  /**
   * kvm_mmu_notifier_test_clear_young of the bitmap series (seed 000): with lockless aging, one
   * hva-range walk tests (or clears, for the pages whose bits are set) a whole window;
   * MMU_NOTIFIER_YOUNG_FAST says it was answered without mmu_lock. Where KVM would need the lock
   * (kvm_arch_prepare_bitmap_age false) the bitmap is unreliable and nothing is done.
   */
  testClearYoungBitmap(
    t: SimThread,
    start: number,
    end: number,
    bitmap: Uint32Array,
    clear: boolean,
  ): number {
    if (!this.lockless) return MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE;
    this.bitmap = bitmap;
    this.bitmapEnd = end;
    const young = this.handleHvaRange(
      t,
      start,
      end,
      clear ? Handler.Age : Handler.TestAge,
      OnLock.None,
      false,
      true,
    );
    this.bitmap = null;
    return young ? MMU_NOTIFIER_YOUNG | MMU_NOTIFIER_YOUNG_FAST : 0;
  }

  /** kvm_mmu_notifier_test_young: [addr, addr + 1). */
  testYoung(t: SimThread, _mm: Mm, addr: number): boolean {
    return this.handleHvaRange(t, addr, addr + 1, Handler.TestAge, OnLock.None, false, this.lockless);
  }
}
