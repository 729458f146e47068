/**
 * Models arch/x86/kvm/mmu/tdp_mmu.c: kvm_tdp_mmu_age_gfn_range and kvm_tdp_mmu_test_age_gfn
 * (kvm_tdp_mmu_age_spte), with seed 000's young bitmap.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { cmpxchg64, fetchAndLo } from '../../../sync/atomic64.ts';
import {
  EPT_A,
  isAccessedSpte,
  isLastSpte,
  isShadowPresent,
  markSpteForAccessTrack,
  type Spte,
  spteAdEnabled,
} from '../spte.ts';
import { kvmTrackLeafSpteChange } from '../spte-track.ts';
import { pagesPerLevel } from './spte-pool.ts';
import type { TdpMmu } from './tdp-mmu.ts';

/** Scratch output of mark_spte_for_access_track. */
const tmp: Spte = { lo: 0, hi: 0 };

/**
 * kvm_tdp_mmu_age_gfn_range / kvm_tdp_mmu_test_age_gfn over the valid roots of the address space.
 * Lockless (6.15+): under RCU; A/D on: atomic clear of A; A/D off: one cmpxchg to the
 * access-tracked value, and a lost cmpxchg leaves the page young. Otherwise the caller holds
 * mmu_lock for write and the update cannot fail.
 */
export function kvmTdpMmuAgeGfnRange(
  mmu: TdpMmu,
  t: SimThread,
  asId: number,
  start: number,
  end: number,
  testOnly: boolean,
  lockless: boolean,
  bitmap: Uint32Array | null = null,
  lastGfn = 0,
): boolean {
  const kvm = mmu.kvm;
  const p = kvm.engine.profile;
  const pool = mmu.pool;
  const rcu = kvm.host.rcu;
  let young = false;
  rcu.readLock(t);
  for (const root of mmu.roots) {
    if (root.invalid || root.asId !== asId) continue;
    for (let gfn = start; gfn < end; ) {
      const idx = pool.walk(root.table, gfn);
      const level = pool.walkLevel;
      t.advance(p.tdpWalkLevelNs * (5 - level));
      const lo = pool.lo[idx];
      const hi = pool.hi.get(idx);
      const span = pagesPerLevel(level);
      const g = gfn;
      gfn = (Math.floor(gfn / span) + 1) * span;
      if (!isShadowPresent(lo) || !isLastSpte(lo, level) || !isAccessedSpte(lo, hi)) continue;
      // Seed 000's bitmap: bit (last gfn - gfn); test records young gfns, clear ages only those set
      // (kvm_gfn_record_young, kvm_gfn_should_age).
      const bit = lastGfn - g;
      if (bitmap !== null && !testOnly && !((bitmap[bit >>> 5] >>> (bit & 31)) & 1)) continue;
      young = true;
      if (testOnly) {
        if (bitmap === null) break;
        bitmap[bit >>> 5] |= 1 << (bit & 31);
        continue;
      }
      t.advance(p.ageSpteNs);
      if (spteAdEnabled(hi)) {
        fetchAndLo(pool.lo, idx, ~EPT_A);
        kvm.stats.sptesAged++;
        continue;
      }
      markSpteForAccessTrack(tmp, lo, hi);
      const newLo = tmp.lo;
      const newHi = tmp.hi;
      if (lockless) {
        if (!cmpxchg64(pool.lo, pool.hi, idx, lo, hi, newLo, newHi)) kvm.stats.ageCasFailures++;
        else {
          kvmTrackLeafSpteChange(t, kvm, lo, hi, newLo, newHi, true);
          kvm.stats.sptesAged++;
        }
        continue;
      }
      // Before 6.13: "capture the dirty status of the page" before W is dropped.
      kvmTrackLeafSpteChange(t, kvm, lo, hi, newLo, newHi, true);
      pool.lo[idx] = newLo;
      pool.hi.set(idx, newHi);
      kvm.stats.sptesAged++;
    }
    if (young && testOnly && bitmap === null) break;
  }
  rcu.readUnlock(t);
  return young;
}
