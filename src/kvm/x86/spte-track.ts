/**
 * Models what KVM did with a leaf SPTE's Accessed and Dirty state when the SPTE changed, before
 * v6.13: handle_changed_spte_dirty_log and handle_changed_spte_acc_track of
 * arch/x86/kvm/mmu/tdp_mmu.c (v6.12), mmu_spte_clear_track_bits of arch/x86/kvm/mmu/mmu.c, and the
 * kvm_set_pfn_dirty that aging did before mark_spte_for_access_track dropped W (kvm_tdp_mmu
 * age_gfn_range, kvm_age_rmap). v6.13 removed all of it; the A/D policy (ad-policy.ts) says which.
 * stevens-v11 keeps it for SPTEs whose refcounted bit is set.
 */
import type { Kvm } from '../kvm.ts';
import { kvmSetPfnAccessed, kvmSetPfnDirty } from '../release-page.ts';
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
 * A present leaf SPTE (`oldLo`, `oldHi`) becomes (`newLo`, `newHi`): where the policy marks on zap,
 * a dirty SPTE that goes or stops being dirty dirties its folio (kvm_set_pfn_dirty) and, unless
 * `aging` (aging's young answer is its own signal), an accessed one that goes or stops being
 * accessed marks the folio accessed (kvm_set_pfn_accessed).
 */
export function kvmTrackLeafSpteChange(
  kvm: Kvm,
  oldLo: number,
  oldHi: number,
  newLo: number,
  newHi: number,
  aging = false,
): void {
  const policy = kvm.adPolicy;
  if (!policy.dirtyOnZap && !policy.accessedOnZap) return;
  // stevens-v11: only an SPTE whose page KVM referenced (its SPTE bit) marks the page.
  if (policy.spteRefcountedBit && !(oldHi & HI_PAGE_REFCOUNTED)) return;
  const present = isShadowPresent(newLo);
  const pfn = sptePfn(oldLo, oldHi);
  const pfnChanged = present && sptePfn(newLo, newHi) !== pfn;
  if (
    policy.dirtyOnZap &&
    isDirtySpte(oldLo, oldHi) &&
    (!present || !isDirtySpte(newLo, newHi) || pfnChanged)
  )
    kvmSetPfnDirty(kvm, pfn);
  if (
    !aging &&
    policy.accessedOnZap &&
    isAccessedSpte(oldLo, oldHi) &&
    (!present || !isAccessedSpte(newLo, newHi) || pfnChanged)
  )
    kvmSetPfnAccessed(kvm, pfn);
}
