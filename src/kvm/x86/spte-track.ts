/**
 * Models what KVM did with a leaf SPTE's Accessed and Dirty state when the SPTE changed, before
 * v6.13: handle_changed_spte_dirty_log and handle_changed_spte_acc_track of
 * arch/x86/kvm/mmu/tdp_mmu.c (v6.12), mmu_spte_clear_track_bits of arch/x86/kvm/mmu/mmu.c, and the
 * kvm_set_pfn_dirty that aging did before mark_spte_for_access_track dropped W (kvm_tdp_mmu
 * age_gfn_range, kvm_age_rmap). v6.13 removed all of it; the A/D policy (ad-policy.ts) says which.
 * stevens-v11 keeps it for SPTEs whose refcounted bit is set.
 */

import type { SimThread } from '../../sim/thread.ts';
import type { Kvm } from '../kvm.ts';
import { kvmSetPfnDirty } from '../release-page.ts';
import { kvmZapAccessedSpte } from '../zap-accessed.ts';
import {
  EPT_D,
  EPT_W,
  HI_PAGE_REFCOUNTED,
  isAccessedSpte,
  isShadowPresent,
  spteAdEnabled,
  sptePfn,
} from './spte.ts';

/** is_dirty_spte: D with A/D bits, else W (a writable SPTE may have been written). */
export function isDirtySpte(lo: number, hi: number): boolean {
  return spteAdEnabled(hi) ? (lo & EPT_D) !== 0 : (lo & EPT_W) !== 0;
}

/**
 * A present leaf SPTE (`oldLo`, `oldHi`) for `gfn` (-1: not known here) becomes (`newLo`,
 * `newHi`): where the policy marks on zap, a dirty SPTE that goes or stops being dirty dirties its
 * folio (kvm_set_pfn_dirty); and, unless `aging` (aging's young answer is its own signal), an
 * accessed one that goes or stops being accessed goes to kvmZapAccessedSpte, which marks the folio
 * accessed (kvm_set_pfn_accessed) where the policy says so. stevens-v11 marks only SPTEs with its
 * refcounted bit.
 */
export function kvmTrackLeafSpteChange(
  t: SimThread,
  kvm: Kvm,
  oldLo: number,
  oldHi: number,
  newLo: number,
  newHi: number,
  aging = false,
  gfn = -1,
): void {
  const policy = kvm.adPolicy;
  // Aging only ever dirties (6.13's aging path does nothing here: keep it off the per-SPTE walk).
  if (aging && !policy.dirtyOnZap) return;
  const present = isShadowPresent(newLo);
  const pfn = sptePfn(oldLo, oldHi);
  const pfnChanged = present && sptePfn(newLo, newHi) !== pfn;
  const marks = !policy.spteRefcountedBit || (oldHi & HI_PAGE_REFCOUNTED) !== 0;
  if (
    policy.dirtyOnZap &&
    marks &&
    isDirtySpte(oldLo, oldHi) &&
    (!present || !isDirtySpte(newLo, newHi) || pfnChanged)
  )
    kvmSetPfnDirty(kvm, pfn);
  if (!aging && isAccessedSpte(oldLo, oldHi) && (!present || !isAccessedSpte(newLo, newHi) || pfnChanged))
    kvmZapAccessedSpte(t, kvm, pfn, gfn, marks);
}
