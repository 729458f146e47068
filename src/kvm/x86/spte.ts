/**
 * x86 EPT SPTEs (arch/x86/kvm/mmu/spte.h, spte.c with kvm_mmu_set_ept_masks). A 64-bit SPTE is kept
 * as two 32-bit words: `lo` holds bits 0-31, `hi` bits 32-63. Bit layout:
 *   0 R, 1 W, 2 X, 3-5 memtype (WB = 6), 7 page size, 8 Accessed, 9 Dirty, 11 SPTE_MMU_PRESENT,
 *   12-51 pfn, 52-53 SPTE_TDP_AD type (0 enabled, 1 disabled), 54 saved R, 56 saved X,
 *   57 host-writable, 58 MMU-writable, 59 SPTE_MMU_PAGE_REFCOUNTED (stevens-v11 only), 63 suppress-#VE
 *   (SHADOW_NONPRESENT_VALUE).
 */

// Low word.
export const EPT_R = 1 << 0;
export const EPT_W = 1 << 1;
export const EPT_X = 1 << 2;
export const EPT_RWX = EPT_R | EPT_W | EPT_X;
export const EPT_MT_WB = 6 << 3;
export const PT_PAGE_SIZE = 1 << 7;
export const EPT_A = 1 << 8;
export const EPT_D = 1 << 9;
export const SPTE_MMU_PRESENT = 1 << 11;

// High word (bit n of the SPTE is bit n-32 here).
export const HI_AD_DISABLED = 1 << (52 - 32);
export const HI_AD_MASK = 3 << (52 - 32);
export const HI_SAVED_R = 1 << (54 - 32);
export const HI_SAVED_X = 1 << (56 - 32);
export const HI_HOST_WRITABLE = 1 << (57 - 32);
export const HI_MMU_WRITABLE = 1 << (58 - 32);
/**
 * SPTE_MMU_PAGE_REFCOUNTED = BIT_ULL(59), from David Stevens' "KVM: allow mapping non-refcounted
 * pages" v11 (spte.h): a software-available bit of EPT leaves (bits 52-62 are ignored by the CPU;
 * KVM uses 52-53, 54/56, 57 and 58), set when KVM took a reference on the page the leaf maps.
 */
export const HI_PAGE_REFCOUNTED = 1 << (59 - 32);
export const HI_NONPRESENT = 1 << (63 - 32);
const HI_PFN_MASK = 0xfffff;

/** SHADOW_NONPRESENT_VALUE = BIT_ULL(63): a zapped SPTE. */
export const NONPRESENT_LO = 0;
export const NONPRESENT_HI = HI_NONPRESENT;
/** FROZEN_SPTE = SHADOW_NONPRESENT_VALUE | 0x5a0. */
export const FROZEN_LO = 0x5a0;
export const FROZEN_HI = HI_NONPRESENT;

/** pfn in bits 12-51. */
export function sptePfn(lo: number, hi: number): number {
  return (hi & HI_PFN_MASK) * 0x100000 + (lo >>> 12);
}
function pfnLo(pfn: number): number {
  return (pfn % 0x100000) << 12;
}
function pfnHi(pfn: number): number {
  return Math.floor(pfn / 0x100000) & HI_PFN_MASK;
}

/** is_shadow_present_pte. */
export function isShadowPresent(lo: number): boolean {
  return (lo & SPTE_MMU_PRESENT) !== 0;
}
export function isFrozen(lo: number, hi: number): boolean {
  return lo === FROZEN_LO && hi === FROZEN_HI;
}
/** is_last_spte: a leaf at 4K, or a large page above it. */
export function isLastSpte(lo: number, level: number): boolean {
  return level === 1 || (lo & PT_PAGE_SIZE) !== 0;
}
/** spte_ad_enabled. */
export function spteAdEnabled(hi: number): boolean {
  return (hi & HI_AD_MASK) !== HI_AD_DISABLED;
}
/** is_access_track_spte: A/D disabled and RWX all clear. */
export function isAccessTrackSpte(lo: number, hi: number): boolean {
  return !spteAdEnabled(hi) && (lo & EPT_RWX) === 0;
}
/** is_accessed_spte: the A bit, or for A/D-disabled SPTEs "not access-tracked". */
export function isAccessedSpte(lo: number, hi: number): boolean {
  return spteAdEnabled(hi) ? (lo & EPT_A) !== 0 : !isAccessTrackSpte(lo, hi);
}
export function isMmuWritable(hi: number): boolean {
  return (hi & HI_MMU_WRITABLE) !== 0;
}

/** Output of the SPTE builders (two words). */
export interface Spte {
  lo: number;
  hi: number;
}

/**
 * make_spte for a TDP leaf: present, the A/D type, RX, WB memtype, page size above 4K, A (A/D on),
 * host-writable when the host mapping is writable, and W + MMU-writable + D when `writable`.
 */
export function makeSpte(
  out: Spte,
  pfn: number,
  level: number,
  writable: boolean,
  hostWritable: boolean,
  adEnabled: boolean,
): void {
  let lo = SPTE_MMU_PRESENT | EPT_R | EPT_X | EPT_MT_WB | pfnLo(pfn);
  let hi = pfnHi(pfn) | (adEnabled ? 0 : HI_AD_DISABLED);
  if (level > 1) lo |= PT_PAGE_SIZE;
  if (adEnabled) lo |= EPT_A;
  if (hostWritable) hi |= HI_HOST_WRITABLE;
  if (writable) {
    lo |= EPT_W;
    hi |= HI_MMU_WRITABLE;
    if (adEnabled) lo |= EPT_D;
  }
  out.lo = lo >>> 0;
  out.hi = hi >>> 0;
}

/** make_nonleaf_spte: points at a child table; present, RWX, and A when A/D is on. */
export function makeNonleafSpte(out: Spte, childPfn: number, adEnabled: boolean): void {
  out.lo = (SPTE_MMU_PRESENT | EPT_RWX | (adEnabled ? EPT_A : 0) | pfnLo(childPfn)) >>> 0;
  out.hi = (pfnHi(childPfn) | (adEnabled ? 0 : HI_AD_DISABLED)) >>> 0;
}

/**
 * mark_spte_for_access_track: with A/D on, clear A; already tracked: unchanged; otherwise save R
 * and X into bits 54/56 and clear RWX and A. W is not saved (a write fault restores it).
 */
export function markSpteForAccessTrack(out: Spte, lo: number, hi: number): void {
  if (spteAdEnabled(hi)) {
    out.lo = (lo & ~EPT_A) >>> 0;
    out.hi = hi;
    return;
  }
  if (isAccessTrackSpte(lo, hi)) {
    out.lo = lo;
    out.hi = hi;
    return;
  }
  if (hi & (HI_SAVED_R | HI_SAVED_X)) throw new Error('mark_spte_for_access_track: saved bits already set');
  let h = hi;
  if (lo & EPT_R) h |= HI_SAVED_R;
  if (lo & EPT_X) h |= HI_SAVED_X;
  out.lo = (lo & ~(EPT_RWX | EPT_A)) >>> 0;
  out.hi = h >>> 0;
}

/** restore_acc_track_spte: puts the saved R and X back and clears the saved bits. */
export function restoreAccTrackSpte(out: Spte, lo: number, hi: number): void {
  let l = lo;
  if (hi & HI_SAVED_R) l |= EPT_R;
  if (hi & HI_SAVED_X) l |= EPT_X;
  out.lo = l >>> 0;
  out.hi = (hi & ~(HI_SAVED_R | HI_SAVED_X)) >>> 0;
}

/** spte_needs_atomic_update: MMU-writable but not W, A/D disabled, or W without D. */
export function spteNeedsAtomicUpdate(lo: number, hi: number): boolean {
  if (!isShadowPresent(lo)) return false;
  if (isMmuWritable(hi) && !(lo & EPT_W)) return true;
  if (!spteAdEnabled(hi)) return true;
  return (lo & EPT_W) !== 0 && !(lo & EPT_D);
}

/** Formats an SPTE as the kernel prints it (0x%llx). */
export function formatSpte(lo: number, hi: number): string {
  return `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`.replace(/^0x0+(?=.)/, '0x');
}
