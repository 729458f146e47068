/**
 * MMIO SPTEs on EPT (arch/x86/kvm/mmu/spte.h, spte.c: make_mmio_spte, generation_mmio_spte_mask,
 * get_mmio_spte_generation, is_mmio_spte; mmu.c: mark_mmio_spte, get_mmio_spte_gfn,
 * get_mmio_spte_access, check_mmio_spte). An MMIO SPTE caches "this gfn has no memslot": W+X
 * without R, which the CPU reports as an EPT misconfiguration, with part of the memslot generation
 * packed into ignored bits so a memslot update makes it stale. Two kernels' layouts, as data:
 *
 * - `v5.1` (today's spte.h): MMIO_SPTE_GEN_MASK = GENMASK_ULL(18, 0); generation bits 0-7 in SPTE
 *   bits 3-10 (MMIO_SPTE_GEN_LOW_START/END), bits 8-18 in SPTE bits 52-62
 *   (MMIO_SPTE_GEN_HIGH_START/END, shift 44). shadow_mmio_value = VMX_EPT_MISCONFIG_WX_VALUE (0x6),
 *   shadow_mmio_mask = VMX_EPT_RWX_MASK | VMX_EPT_SUPPRESS_VE_BIT, shadow_mmio_access_mask = 0.
 *   The update-in-progress flag is not stored; check_mmio_spte tests it in the memslots' generation.
 * - `v4.20` (mmu.c of January 2019, the code seed 001 reviews): MMIO_GEN_MASK = 20 bits, whose bit 0
 *   is the in-progress flag and is never stored (MMIO_GEN_LOW_MASK = 0x3fe); generation bits 1-9
 *   in SPTE bits 3-11, bits 10-19 in SPTE bits 52-61. shadow_mmio_value = 0x6 | SPTE_SPECIAL_MASK
 *   (bit 62), shadow_mmio_mask = VMX_EPT_RWX_MASK | SPTE_SPECIAL_MASK, access masked with
 *   ACC_WRITE_MASK | ACC_USER_MASK. A generation with bit 0 set never matches a stored one.
 *
 * The gpa sits in bits 12-51. L1TF's shadow_nonpresent_or_rsvd_mask is 0 here (a host without
 * X86_BUG_L1TF), so no gpa bits are relocated.
 */
import { EPT_RWX, isShadowPresent, type Spte, sptePfn } from './spte.ts';
import type { SptePool } from './tdp-mmu/spte-pool.ts';

/** VMX_EPT_MISCONFIG_WX_VALUE: W and X without R. */
export const VMX_EPT_MISCONFIG_WX_VALUE = 0x6;
/** ACC_WRITE_MASK | ACC_USER_MASK (PT_WRITABLE_MASK, PT_USER_MASK). */
const ACC_WRITE_USER = 0x6;

/** One kernel's MMIO SPTE format, as data. */
export interface MmioSpteLayout {
  readonly name: 'v5.1' | 'v4.20';
  /** Generation bits kept (MMIO_SPTE_GEN_MASK today, MMIO_GEN_MASK in v4.20). */
  readonly genMask: number;
  /** Lowest generation bit stored (1 in v4.20: bit 0 is the in-progress flag). */
  readonly genFirstBit: number;
  /** SPTE bits of the low part of the generation (inclusive). */
  readonly lowStart: number;
  readonly lowEnd: number;
  /** SPTE bits of the high part (inclusive, both in the high word). */
  readonly highStart: number;
  readonly highEnd: number;
  /** shadow_mmio_value and shadow_mmio_mask as (low word, high word). */
  readonly valueLo: number;
  readonly valueHi: number;
  readonly maskLo: number;
  readonly maskHi: number;
  /** shadow_mmio_access_mask. */
  readonly accessMask: number;
  /** check_mmio_spte tests KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS itself (v5.1) rather than through bit 0. */
  readonly checksInProgress: boolean;
  /** kvm_mmu_invalidate_mmio_sptes clears the address-space bits before testing for a wrap (v5.1). */
  readonly wrapIgnoresAsBits: boolean;
}

/** The MMIO SPTE layouts by kernel. */
export const MMIO_SPTE_LAYOUTS: Record<MmioSpteLayout['name'], MmioSpteLayout> = {
  'v5.1': {
    name: 'v5.1',
    genMask: 0x7ffff,
    genFirstBit: 0,
    lowStart: 3,
    lowEnd: 10,
    highStart: 52,
    highEnd: 62,
    valueLo: VMX_EPT_MISCONFIG_WX_VALUE,
    valueHi: 0,
    maskLo: EPT_RWX,
    maskHi: (1 << (63 - 32)) >>> 0,
    accessMask: 0,
    checksInProgress: true,
    wrapIgnoresAsBits: true,
  },
  'v4.20': {
    name: 'v4.20',
    genMask: 0xfffff,
    genFirstBit: 1,
    lowStart: 3,
    lowEnd: 11,
    highStart: 52,
    highEnd: 61,
    valueLo: VMX_EPT_MISCONFIG_WX_VALUE,
    valueHi: 1 << (62 - 32),
    maskLo: EPT_RWX,
    maskHi: 1 << (62 - 32),
    accessMask: ACC_WRITE_USER,
    checksInProgress: false,
    wrapIgnoresAsBits: false,
  },
};

function lowBits(l: MmioSpteLayout): number {
  return l.lowEnd - l.lowStart + 1;
}
function highBits(l: MmioSpteLayout): number {
  return l.highEnd - l.highStart + 1;
}

/** generation_mmio_spte_mask: `gen` (already masked) spread over the SPTE's two fields. */
export function generationMmioSpteMask(out: Spte, l: MmioSpteLayout, gen: number): void {
  if (gen & ~l.genMask)
    throw new Error('WARN_ON: generation_mmio_spte_mask: bits outside the MMIO generation');
  const lb = lowBits(l);
  const low = (gen >>> l.genFirstBit) & ((1 << lb) - 1);
  const high = (gen >>> (l.genFirstBit + lb)) & ((1 << highBits(l)) - 1);
  out.lo = (low << l.lowStart) >>> 0;
  out.hi = (high << (l.highStart - 32)) >>> 0;
}

/** get_mmio_spte_generation: the generation bits an MMIO SPTE carries. */
export function getMmioSpteGeneration(l: MmioSpteLayout, lo: number, hi: number): number {
  const lb = lowBits(l);
  const low = (lo >>> l.lowStart) & ((1 << lb) - 1);
  const high = (hi >>> (l.highStart - 32)) & ((1 << highBits(l)) - 1);
  return ((low << l.genFirstBit) | (high << (l.genFirstBit + lb))) >>> 0;
}

/**
 * make_mmio_spte (mark_mmio_spte in v4.20): the generation of the vCPU's memslots masked to the
 * MMIO generation, shadow_mmio_value, the masked access bits and the gpa.
 */
export function makeMmioSpte(
  out: Spte,
  l: MmioSpteLayout,
  memslotsGen: number,
  gfn: number,
  access: number,
): void {
  generationMmioSpteMask(out, l, memslotsGen & l.genMask);
  out.lo = (out.lo | l.valueLo | (access & l.accessMask) | ((gfn % 0x100000) << 12)) >>> 0;
  out.hi = (out.hi | l.valueHi | (Math.floor(gfn / 0x100000) & 0xfffff)) >>> 0;
}

/** is_mmio_spte: `(spte & shadow_mmio_mask) == shadow_mmio_value` (MMIO caching is on). */
export function isMmioSpte(l: MmioSpteLayout, lo: number, hi: number): boolean {
  return (lo & l.maskLo) === l.valueLo && (hi & l.maskHi) >>> 0 === l.valueHi;
}

/**
 * is_shadow_present_pte as the layout's kernel had it, for the SPTE at `idx` of `pool`. Today the
 * present bit (SPTE_MMU_PRESENT, bit 11) alone; v4.20 had no such bit and tested
 * `(pte & 0xFFFFFFFF) && !is_mmio_spte(pte)`. Its MMIO SPTEs keep generation bit 9 in SPTE bit 11,
 * so code that meets MMIO SPTEs (zapping, faulting over a stale one) asks this rather than the bit.
 */
export function isShadowPresentPte(l: MmioSpteLayout, pool: SptePool, idx: number): boolean {
  const lo = pool.lo[idx];
  return isShadowPresent(lo) && (l.name !== 'v4.20' || !isMmioSpte(l, lo, pool.hi.get(idx)));
}

/** get_mmio_spte_gfn: the gpa bits 12-51 (nothing relocated without the L1TF mask). */
export function getMmioSpteGfn(lo: number, hi: number): number {
  return sptePfn(lo, hi);
}

/** get_mmio_spte_access: the access bits kept by shadow_mmio_access_mask. */
export function getMmioSpteAccess(l: MmioSpteLayout, lo: number): number {
  return lo & l.accessMask;
}

/**
 * check_mmio_spte: false while a memslot update is in progress (v5.1 tests the flag; v4.20's
 * flag is bit 0, which no SPTE stores), else whether the SPTE's generation is the memslots' one
 * masked to the MMIO generation.
 */
export function checkMmioSpte(
  l: MmioSpteLayout,
  memslotsGen: number,
  inProgress: boolean,
  lo: number,
  hi: number,
): boolean {
  if (l.checksInProgress && inProgress) return false;
  return (memslotsGen & l.genMask) === getMmioSpteGeneration(l, lo, hi);
}
