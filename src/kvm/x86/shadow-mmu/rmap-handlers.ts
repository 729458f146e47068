/**
 * Models the rmap side of the MMU-notifier handlers in arch/x86/kvm/mmu/mmu.c: kvm_handle_gfn_range
 * (for_each_slot_rmap_range), kvm_unmap_gfn_range → kvm_zap_rmap (kvm_zap_all_rmap_sptes, which
 * takes the rmap lock from 6.15), kvm_age_gfn → kvm_age_rmap (mmu_spte_age), kvm_test_age_gfn →
 * kvm_test_age_rmap, and kvm_mmu_zap_memslot, with mmu_lock held for write; lockless aging (6.15,
 * kvm_rmap_age_gfn_range) is in rmap-age.ts.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { fetchAndLo } from '../../../sync/atomic64.ts';
import type { KvmMemorySlot } from '../../memslots.ts';
import { EPT_A, isAccessedSpte, markSpteForAccessTrack, spteAdEnabled } from '../spte.ts';
import { kvmTrackLeafSpteChange } from '../spte-track.ts';
import { gfnToIndex, KVM_MAX_HUGEPAGE_LEVEL, kvmPagesPerHpage } from './memslot-rmap.ts';
import { kvmRmapAgeGfnRange } from './rmap-age.ts';
import { kvmRmapLock, kvmRmapUnlock, type RmapLockTimes } from './rmap-lock.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** rmap_handler_t choices. */
enum RmapHandler {
  Zap = 0,
  Age = 1,
  TestAge = 2,
}

/**
 * kvm_zap_all_rmap_sptes: under the rmap lock (elided when empty), every SPTE of the rmap becomes
 * non-present (mmu_spte_clear_track_bits), the descriptors are freed and the unlock stores 0.
 * Returns whether the rmap had any.
 */
export function kvmZapAllRmapSptes(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  times: RmapLockTimes | null,
): boolean {
  const head = kvmRmapLock(mmu, t, heads, i, times);
  if (head === 0) return false;
  const lists = mmu.pteLists;
  for (let s = lists.first(head); s >= 0; s = lists.next()) mmu.mmuSpteClearTrackBits(t, s);
  lists.freeAll(head);
  kvmRmapUnlock(mmu, t, heads, i, 0, times);
  return true;
}

/** mmu_spte_age: clears the Accessed state of one SPTE (write lock held). Returns whether it was young. */
function mmuSpteAge(mmu: ShadowMmu, t: SimThread, sptep: number): boolean {
  const pool = mmu.pool;
  const lo = pool.lo[sptep];
  const hi = pool.hi.get(sptep);
  if (!isAccessedSpte(lo, hi)) return false;
  t.advance(mmu.kvm.engine.profile.ageSpteNs);
  if (spteAdEnabled(hi)) fetchAndLo(pool.lo, sptep, ~EPT_A);
  else {
    // mark_spte_for_access_track, then mmu_spte_update_no_track.
    markSpteForAccessTrack(mmu.tmp, lo, hi);
    kvmTrackLeafSpteChange(t, mmu.kvm, lo, hi, mmu.tmp.lo, mmu.tmp.hi, true);
    pool.lo[sptep] = mmu.tmp.lo;
    pool.hi.set(sptep, mmu.tmp.hi);
  }
  mmu.kvm.stats.sptesAged++;
  return true;
}

/**
 * kvm_handle_gfn_range over the memslots of address space `asId` that overlap [start, end): per
 * level (4K to 1G) and per non-empty rmap head (the walk skips empty heads; each non-empty one is
 * charged as one iterator step), call the handler. Seed 000's bitmap: test records young gfns (bit
 * lastGfn - gfn), aging clears only those whose bit is set.
 */
function kvmHandleGfnRange(
  mmu: ShadowMmu,
  t: SimThread,
  asId: number,
  start: number,
  end: number,
  handler: RmapHandler,
  bitmap: Uint32Array | null,
  lastGfn: number,
): boolean {
  const stepNs = mmu.kvm.engine.profile.tdpWalkLevelNs;
  const lists = mmu.pteLists;
  const pool = mmu.pool;
  let ret = false;
  const set = mmu.kvm.memslots(asId);
  for (let k = set.firstGfnIndex(start); k < set.byGfn.length; k++) {
    const slot = set.byGfn[k];
    const slotEnd = slot.baseGfn + slot.npages;
    if (slot.baseGfn >= end) break;
    if (slotEnd <= start) continue;
    const s = Math.max(start, slot.baseGfn);
    const e = Math.min(end, slotEnd);
    const rmaps = mmu.rmaps.of(slot);
    for (let level = 1; level <= KVM_MAX_HUGEPAGE_LEVEL; level++) {
      const heads = rmaps.rmap[level - 1];
      const times = mmu.rmapLocking ? rmaps.lockTimes(level) : null;
      const span = kvmPagesPerHpage(level);
      const baseIdx = Math.floor(slot.baseGfn / span);
      const last = gfnToIndex(e - 1, slot.baseGfn, level);
      for (let i = gfnToIndex(s, slot.baseGfn, level); i <= last; i++) {
        const head = heads[i];
        if (head === 0) continue;
        t.advance(stepNs);
        if (handler === RmapHandler.Zap) {
          ret = kvmZapAllRmapSptes(mmu, t, heads, i, times) || ret;
          continue;
        }
        mmu.stats.rmapHeadsWalked++;
        const gfn = Math.max(s, (baseIdx + i) * span);
        const bit = lastGfn - gfn;
        if (handler === RmapHandler.TestAge) {
          // kvm_test_age_rmap: young if any SPTE of the rmap is accessed.
          for (let sp = lists.first(head); sp >= 0; sp = lists.next()) {
            if (!isAccessedSpte(pool.lo[sp], pool.hi.get(sp))) continue;
            ret = true;
            if (bitmap !== null) bitmap[bit >>> 5] |= 1 << (bit & 31);
            break;
          }
          continue;
        }
        if (bitmap !== null && !((bitmap[bit >>> 5] >>> (bit & 31)) & 1)) continue;
        // kvm_age_rmap: young |= mmu_spte_age(sptep) for every SPTE of the rmap.
        for (let sp = lists.first(head); sp >= 0; sp = lists.next()) ret = mmuSpteAge(mmu, t, sp) || ret;
      }
    }
  }
  return ret;
}

function assertWriteLocked(mmu: ShadowMmu, t: SimThread, what: string): void {
  if (mmu.kvm.mmuLock.writer !== t) throw new Error(`${what}: mmu_lock not held for write`);
}

/** kvm_unmap_gfn_range's rmap part: kvm_zap_rmap over the range. Returns whether to flush. */
export function unmapGfnRange(
  mmu: ShadowMmu,
  t: SimThread,
  asId: number,
  start: number,
  end: number,
): boolean {
  assertWriteLocked(mmu, t, 'kvm_unmap_gfn_range');
  return kvmHandleGfnRange(mmu, t, asId, start, end, RmapHandler.Zap, null, 0);
}

/**
 * kvm_age_gfn / kvm_test_age_gfn's rmap part. `lockless` (6.15): kvm_rmap_age_gfn_range, which
 * takes no mmu_lock (the caller must not hold it) and needs the rmap lock of 6.15 in every writer
 * (`mmu.rmapLocking`). Otherwise kvm_age_rmap / kvm_test_age_rmap under mmu_lock held for write.
 */
export function ageGfnRange(
  mmu: ShadowMmu,
  t: SimThread,
  asId: number,
  start: number,
  end: number,
  testOnly: boolean,
  lockless: boolean,
  bitmap: Uint32Array | null,
  lastGfn: number,
): boolean {
  if (lockless) {
    if (!mmu.rmapLocking)
      throw new Error('kvm_rmap_age_gfn_range: lockless aging needs the rmap lock of 6.15 (aging: lockless)');
    if (mmu.kvm.mmuLock.writer === t) throw new Error('kvm_rmap_age_gfn_range: called with mmu_lock held');
    return kvmRmapAgeGfnRange(mmu, t, asId, start, end, testOnly, bitmap, lastGfn);
  }
  assertWriteLocked(mmu, t, testOnly ? 'kvm_test_age_gfn' : 'kvm_age_gfn');
  return kvmHandleGfnRange(
    mmu,
    t,
    asId,
    start,
    end,
    testOnly ? RmapHandler.TestAge : RmapHandler.Age,
    bitmap,
    lastGfn,
  );
}

/**
 * kvm_mmu_zap_memslot: under mmu_lock for write, zap the slot's leaves through its rmaps and flush
 * if any went (kvm_mmu_zap_memslot_pages_and_flush: a direct MMU has no pages with guest PTEs).
 */
export function zapMemslot(mmu: ShadowMmu, t: SimThread, slot: KvmMemorySlot): void {
  const kvm = mmu.kvm;
  kvm.mmuLock.writeLock(t);
  if (
    kvmHandleGfnRange(mmu, t, slot.asId, slot.baseGfn, slot.baseGfn + slot.npages, RmapHandler.Zap, null, 0)
  )
    kvm.flushRemoteTlbs(t);
  kvm.mmuLock.writeUnlock(t);
}
