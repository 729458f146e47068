/**
 * Models kvm_rmap_age_gfn_range of arch/x86/kvm/mmu/mmu.c (6.15, "Walk rmaps (shadow MMU) without
 * holding mmu_lock when aging gfns"): per level and per KVM_PAGES_PER_HPAGE step of the range,
 * kvm_rmap_lock_readonly, for_each_rmap_spte_lockless (mmu_spte_get_lockless; non-present SPTEs
 * are skipped), then clear_bit of the Accessed bit (A/D on) or one cmpxchg64 to the access-tracked
 * value whose failure is ignored (A/D off), and kvm_rmap_unlock_readonly. No mmu_lock is taken.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { cmpxchg64, fetchAndLo } from '../../../sync/atomic64.ts';
import { EPT_A, isAccessedSpte, isShadowPresent, markSpteForAccessTrack, spteAdEnabled } from '../spte.ts';
import { kvmTrackLeafSpteChange } from '../spte-track.ts';
import { gfnToIndex, KVM_MAX_HUGEPAGE_LEVEL, kvmPagesPerHpage } from './memslot-rmap.ts';
import { kvmRmapLockReadonly, kvmRmapUnlockReadonly } from './rmap-lock.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/**
 * kvm_rmap_age_gfn_range over the memslots of address space `asId` that overlap [start, end).
 * As in the kernel, each level's walk steps from the range's start by the level's span, so for a
 * range not aligned to a huge page the last huge rmap can be left out. Charges as the TDP MMU's
 * lockless aging: one iterator step (tdpWalkLevelNs) per non-empty rmap, ageSpteNs per SPTE aged;
 * the rmap lock's accesses as rmap-lock.ts says. Test-only returns at the first young SPTE. Seed
 * 000's bitmap works as in the write-locked walk (bit lastGfn - gfn): test records young gfns and
 * goes on, aging clears only the gfns whose bit is set.
 */
export function kvmRmapAgeGfnRange(
  mmu: ShadowMmu,
  t: SimThread,
  asId: number,
  start: number,
  end: number,
  testOnly: boolean,
  bitmap: Uint32Array | null,
  lastGfn: number,
): boolean {
  const kvm = mmu.kvm;
  const p = kvm.engine.profile;
  const pool = mmu.pool;
  const lists = mmu.pteLists;
  const tmp = mmu.tmp;
  let young = false;
  const set = kvm.memslots(asId);
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
      const times = rmaps.lockTimes(level);
      const span = kvmPagesPerHpage(level);
      for (let gfn = s; gfn < e; gfn += span) {
        const i = gfnToIndex(gfn, slot.baseGfn, level);
        const val = kvmRmapLockReadonly(mmu, t, heads, i, times);
        if (val === 0) continue;
        t.advance(p.tdpWalkLevelNs);
        mmu.stats.rmapHeadsWalked++;
        // The gfn the bitmap knows this rmap by: its first gfn inside the range.
        const bit = lastGfn - Math.max(s, Math.floor(gfn / span) * span);
        const marked = bitmap !== null && ((bitmap[bit >>> 5] >>> (bit & 31)) & 1) === 1;
        if (!testOnly && bitmap !== null && !marked) {
          kvmRmapUnlockReadonly(mmu, t, heads, i, val, times);
          continue;
        }
        for (let sptep = lists.first(val); sptep >= 0; sptep = lists.next()) {
          const lo = pool.lo[sptep];
          const hi = pool.hi.get(sptep);
          if (!isShadowPresent(lo) || !isAccessedSpte(lo, hi)) continue;
          young = true;
          if (testOnly) {
            if (bitmap === null) {
              kvmRmapUnlockReadonly(mmu, t, heads, i, val, times);
              return true;
            }
            bitmap[bit >>> 5] |= 1 << (bit & 31);
            break;
          }
          t.advance(p.ageSpteNs);
          if (spteAdEnabled(hi)) {
            fetchAndLo(pool.lo, sptep, ~EPT_A);
            kvm.stats.sptesAged++;
            continue;
          }
          // If the cmpxchg fails the SPTE is being changed and should most likely stay young.
          markSpteForAccessTrack(tmp, lo, hi);
          if (cmpxchg64(pool.lo, pool.hi, sptep, lo, hi, tmp.lo, tmp.hi)) {
            kvmTrackLeafSpteChange(t, kvm, lo, hi, tmp.lo, tmp.hi, true);
            kvm.stats.sptesAged++;
          } else kvm.stats.ageCasFailures++;
        }
        kvmRmapUnlockReadonly(mmu, t, heads, i, val, times);
      }
    }
  }
  return young;
}
