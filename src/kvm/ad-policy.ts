/**
 * Models no single kernel file: how KVM marks struct pages accessed and dirty and which pages it
 * holds references on (virt/kvm/kvm_main.c, arch/x86/kvm/mmu/{mmu.c,tdp_mmu.c,spte.c}) across the
 * versions seed 002 argues about, as data. Each policy names its source.
 */

/** The policies mmulab can run, by name. */
export type AdPolicyName = 'pre-6.13' | '6.13' | 'stevens-v11' | 'no-dirty';

/**
 * What happens to the folio's dirty/accessed state and reference count when KVM maps, zaps or
 * ages an SPTE. Parameters, not forks of the code: the MMUs ask the policy at those points.
 */
export interface AdPolicy {
  readonly name: AdPolicyName;
  /** Where it comes from and what it does. */
  readonly description: string;
  /**
   * kvm_release_faultin_page(..., dirty = map_writable): the folio is dirtied when the SPTE is
   * installed writable (or may become writable through the fast page fault), under mmu_lock.
   */
  readonly dirtyAtMap: boolean;
  /** kvm_release_page_clean at map time marks the folio accessed (folio_mark_accessed). */
  readonly accessedAtMap: boolean;
  /**
   * kvm_set_pfn_dirty when a leaf SPTE that is dirty (D set, or writable without A/D bits) is
   * zapped, write-protected or changes pfn (handle_changed_spte_dirty_log, mmu_spte_clear_track_bits).
   */
  readonly dirtyOnZap: boolean;
  /**
   * kvm_set_pfn_accessed when an accessed leaf SPTE is zapped or aged
   * (handle_changed_spte_acc_track, mmu_spte_age, kvm_age_rmap).
   */
  readonly accessedOnZap: boolean;
  /**
   * A reference is taken on a VM_PFNMAP/VM_MIXEDMAP pfn that has a refcounted struct page
   * (kvm_try_get_pfn in hva_to_pfn_remapped) and dropped after the SPTE is installed.
   */
  readonly refPfnmapPages: boolean;
  /**
   * A valid, non-reserved page whose refcount is 0 (a driver's non-compound higher-order
   * allocation): 'efault' when get_page_unless_zero fails and the fault returns
   * KVM_PFN_ERR_FAULT (commit f8be156be163, "KVM: do not allow mapping valid but
   * non-reference-counted pages"); 'map' when it is mapped without a reference.
   */
  readonly nonRefcounted: 'efault' | 'map';
  /**
   * Each SPTE records whether KVM took a reference for it (the posted series' SPTE bit), and A/D
   * marking on zap applies only to SPTEs that have it.
   */
  readonly spteRefcountedBit: boolean;
}

/** The policies, as data. */
export const AD_POLICIES: readonly AdPolicy[] = [
  {
    name: 'pre-6.13',
    description:
      'Linux 6.12 and earlier: the faulted-in page is released clean after mapping; KVM marks the folio dirty when a dirty or writable leaf SPTE is zapped (kvm_set_pfn_dirty) and accessed when an accessed one is zapped or aged (kvm_set_pfn_accessed); PFNMAP pfns with a refcounted struct page are referenced through kvm_try_get_pfn, which refuses a page with refcount 0 (-EFAULT, commit f8be156be163).',
    dirtyAtMap: false,
    accessedAtMap: true,
    dirtyOnZap: true,
    accessedOnZap: true,
    refPfnmapPages: true,
    nonRefcounted: 'efault',
    spteRefcountedBit: false,
  },
  {
    name: '6.13',
    description:
      'Linux 6.13 ("KVM: Stop grabbing references to PFNMAP\'d pages", Sean Christopherson, v13, Oct 2024): kvm_release_faultin_page dirties the folio at map time when the SPTE is writable and marks it accessed; nothing is marked on zap or age; no reference on PFNMAP or VM_MIXEDMAP pfns (refcounted_page = NULL).',
    dirtyAtMap: true,
    accessedAtMap: true,
    dirtyOnZap: false,
    accessedOnZap: false,
    refPfnmapPages: false,
    nonRefcounted: 'map',
    spteRefcountedBit: false,
  },
  {
    name: 'stevens-v11',
    description:
      'David Stevens, "KVM: allow mapping non-refcounted pages" v11 (29 Feb 2024, not merged): kvm_follow_pfn reports is_refcounted; an SPTE bit records it; A/D marking on zap and age as before, but only for SPTEs whose page was refcounted; non-refcounted pages are mapped without a reference.',
    dirtyAtMap: false,
    accessedAtMap: true,
    dirtyOnZap: true,
    accessedOnZap: true,
    refPfnmapPages: true,
    nonRefcounted: 'map',
    spteRefcountedBit: true,
  },
  {
    name: 'no-dirty',
    description:
      'Deliberately broken: 6.13 without dirtying at map time, so nothing ever marks a folio dirty for a write made through an SPTE. Kept to show that the lost-write detector finds what a wrong policy loses.',
    dirtyAtMap: false,
    accessedAtMap: true,
    dirtyOnZap: false,
    accessedOnZap: false,
    refPfnmapPages: false,
    nonRefcounted: 'map',
    spteRefcountedBit: false,
  },
];

/** The policy simulated when none is named: mainline's. */
export const DEFAULT_AD_POLICY: AdPolicyName = '6.13';

/** Looks a policy up by name; undefined if unknown. */
export function adPolicy(name: string): AdPolicy | undefined {
  return AD_POLICIES.find((p) => p.name === name);
}
