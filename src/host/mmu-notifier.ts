/**
 * Models mm/mmu_notifier.c: mmu_notifier_register and the dispatch of clear_young,
 * clear_flush_young, test_young and invalidate_range_start/end; struct mmu_notifier_ops of
 * include/linux/mmu_notifier.h.
 */
import type { SimThread } from '../sim/thread.ts';
import type { Host } from './host.ts';
import type { Mm } from './mm.ts';

/** Return bits of the bitmap young ops (seed 000: mmu_notifier.h of the bitmap series). */
export const MMU_NOTIFIER_YOUNG = 1 << 0;
export const MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE = 1 << 1;
export const MMU_NOTIFIER_YOUNG_FAST = 1 << 2;

/** Why a range is invalidated (enum mmu_notifier_event). */
export type MmuNotifyEvent = 'unmap' | 'clear' | 'protection_vma' | 'protection_page' | 'release' | 'migrate';

/** struct mmu_notifier_range. `end` is exclusive; addresses are host virtual addresses. */
export interface MmuNotifierRange {
  mm: Mm;
  start: number;
  end: number;
  event: MmuNotifyEvent;
  /** MMU_NOTIFIER_RANGE_BLOCKABLE. */
  blockable: boolean;
}

/**
 * struct mmu_notifier_ops (include/linux/mmu_notifier.h). Each op runs on the calling thread and
 * charges its time to it. Young ops return whether anything was young.
 */
export interface MmuNotifierOps {
  invalidateRangeStart?(t: SimThread, range: MmuNotifierRange): number;
  invalidateRangeEnd?(t: SimThread, range: MmuNotifierRange): void;
  clearFlushYoung?(t: SimThread, mm: Mm, start: number, end: number): boolean;
  clearYoung?(t: SimThread, mm: Mm, start: number, end: number): boolean;
  testYoung?(t: SimThread, mm: Mm, addr: number): boolean;
  /** struct mmu_notifier.has_fast_aging (seed 003 v7): can answer aging without blocking. */
  readonly hasFastAging?: boolean;
  /**
   * The bitmap variant of test_young / clear_young (seed 000): bit (pages - 1 - i) of `bitmap` is
   * page i of [start, end). Returns MMU_NOTIFIER_YOUNG* bits.
   */
  testClearYoungBitmap?(
    t: SimThread,
    start: number,
    end: number,
    bitmap: Uint32Array,
    clear: boolean,
  ): number;
  release?(t: SimThread, mm: Mm): void;
}

/** struct mmu_notifier_subscriptions: the subscribers of one mm, in registration order. */
export class MmuNotifierSubscriptions {
  readonly list: MmuNotifierOps[] = [];
}

/** Counters of notifier dispatch, for reports. */
export class NotifierStats {
  invalidateRangeStart = 0;
  invalidateRangeEnd = 0;
  clearFlushYoung = 0;
  clearYoung = 0;
  testYoung = 0;
}

/** mmu_notifier_register: subscribes `ops` to `mm`. */
export function mmuNotifierRegister(mm: Mm, ops: MmuNotifierOps): void {
  if (mm.notifiers === null) mm.notifiers = new MmuNotifierSubscriptions();
  mm.notifiers.list.push(ops);
}

/**
 * True if every subscriber of `mm` that ages answers without blocking (has_fast_aging, seed 003
 * v7): KVM with lockless aging. An aging walk then shares no lock with the vCPUs.
 */
export function mmNotifiersAgeFast(mm: Mm): boolean {
  if (mm.notifiers === null) return true;
  for (const sub of mm.notifiers.list) if (sub.clearYoung && !sub.hasFastAging) return false;
  return true;
}

/** mm_has_notifiers. */
export function mmHasNotifiers(mm: Mm): boolean {
  return mm.notifiers !== null && mm.notifiers.list.length > 0;
}

/**
 * The dispatch side of mm/mmu_notifier.c. Every walk of the subscription list runs inside the
 * notifier SRCU domain and costs `notifierCallNs`.
 */
export class MmuNotifierDispatch {
  readonly stats = new NotifierStats();
  constructor(readonly host: Host) {}

  /** What every dispatch does first: enter the notifier SRCU read side, pay `notifierCallNs`. */
  private enter(t: SimThread): void {
    this.host.notifierSrcu.readLock(t);
    t.advance(this.host.engine.profile.notifierCallNs);
  }

  /** mmu_notifier_clear_young: ORs every subscriber's answer; no TLB flush. */
  clearYoung(t: SimThread, mm: Mm, start: number, end: number): boolean {
    return this.clearYoungSubscribers(t, mm, start, end, false);
  }

  /**
   * mmu_notifier_clear_young_fast_only (seed 003 v7): like clear_young, but only subscribers with
   * has_fast_aging are asked; the others are skipped (their pages look old).
   */
  clearYoungFastOnly(t: SimThread, mm: Mm, start: number, end: number): boolean {
    return this.clearYoungSubscribers(t, mm, start, end, true);
  }

  private clearYoungSubscribers(
    t: SimThread,
    mm: Mm,
    start: number,
    end: number,
    fastOnly: boolean,
  ): boolean {
    if (!mmHasNotifiers(mm)) return false;
    this.stats.clearYoung++;
    this.enter(t);
    let young = false;
    for (const sub of mm.notifiers!.list)
      if (sub.clearYoung && (!fastOnly || sub.hasFastAging))
        young = sub.clearYoung(t, mm, start, end) || young;
    this.host.notifierSrcu.readUnlock(t);
    return young;
  }

  /** mmu_notifier_clear_flush_young: ORs every subscriber's answer. */
  clearFlushYoung(t: SimThread, mm: Mm, start: number, end: number): boolean {
    if (!mmHasNotifiers(mm)) return false;
    this.stats.clearFlushYoung++;
    this.enter(t);
    let young = false;
    for (const sub of mm.notifiers!.list)
      if (sub.clearFlushYoung) young = sub.clearFlushYoung(t, mm, start, end) || young;
    this.host.notifierSrcu.readUnlock(t);
    return young;
  }

  /** mmu_notifier_test_young: stops at the first subscriber that reports young. */
  testYoung(t: SimThread, mm: Mm, addr: number): boolean {
    if (!mmHasNotifiers(mm)) return false;
    this.stats.testYoung++;
    this.enter(t);
    let young = false;
    for (const sub of mm.notifiers!.list) {
      if (sub.testYoung?.(t, mm, addr)) {
        young = true;
        break;
      }
    }
    this.host.notifierSrcu.readUnlock(t);
    return young;
  }

  /**
   * mmu_notifier_{test,clear}_young_bitmap: ORs the subscribers' bits; one without bitmap support
   * makes the result MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE.
   */
  testClearYoungBitmap(
    t: SimThread,
    mm: Mm,
    start: number,
    end: number,
    bitmap: Uint32Array,
    clear: boolean,
  ): number {
    if (!mmHasNotifiers(mm)) return 0;
    if (clear) this.stats.clearYoung++;
    else this.stats.testYoung++;
    this.enter(t);
    let ret = 0;
    for (const sub of mm.notifiers!.list) {
      ret |= sub.testClearYoungBitmap
        ? sub.testClearYoungBitmap(t, start, end, bitmap, clear)
        : MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE;
    }
    this.host.notifierSrcu.readUnlock(t);
    return ret;
  }

  /** mmu_notifier_invalidate_range_start. Returns 0 or -EAGAIN (non-blockable only). */
  invalidateRangeStart(t: SimThread, range: MmuNotifierRange): number {
    if (!mmHasNotifiers(range.mm)) return 0;
    this.stats.invalidateRangeStart++;
    this.enter(t);
    let ret = 0;
    for (const sub of range.mm.notifiers!.list) {
      if (!sub.invalidateRangeStart) continue;
      const r = sub.invalidateRangeStart(t, range);
      if (r !== 0) {
        if (range.blockable) throw new Error('invalidate_range_start failed on a blockable range');
        ret = r;
      }
    }
    this.host.notifierSrcu.readUnlock(t);
    return ret;
  }

  /** mmu_notifier_invalidate_range_end. */
  invalidateRangeEnd(t: SimThread, range: MmuNotifierRange): void {
    if (!mmHasNotifiers(range.mm)) return;
    this.stats.invalidateRangeEnd++;
    this.enter(t);
    for (const sub of range.mm.notifiers!.list) sub.invalidateRangeEnd?.(t, range);
    this.host.notifierSrcu.readUnlock(t);
  }
}
