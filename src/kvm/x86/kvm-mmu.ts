/**
 * Models the x86 MMU split of arch/x86/kvm/mmu/mmu.c (each operation goes to the TDP MMU when
 * tdp_mmu_enabled, else to the shadow MMU's rmaps and shadow pages), with the RET_PF_* codes of
 * arch/x86/kvm/mmu/mmu_internal.h. `X86Mmu` is what the fault path, the MMU-notifier glue, memslot
 * updates and the vCPU call; tdp-mmu/ and shadow-mmu/ implement it.
 */
import type { SimThread } from '../../sim/thread.ts';
import type { KvmMemorySlot } from '../memslots.ts';
import type { Spte } from './spte.ts';
import type { SptePool } from './tdp-mmu/spte-pool.ts';

/** Return codes of the x86 page-fault handlers (enum RET_PF_*); RET_PF_CONTINUE: keep going. */
export const RET_PF_CONTINUE = 0;
export const RET_PF_RETRY = 1;
export const RET_PF_EMULATE = 2;
export const RET_PF_WRITE_PROTECTED = 3;
export const RET_PF_INVALID = 4;
export const RET_PF_FIXED = 5;
export const RET_PF_SPURIOUS = 6;

/**
 * A root a vCPU loads (vcpu->arch.mmu->root): the TDP MMU's root or the shadow MMU's root
 * struct kvm_mmu_page. `table` is the page the CPU's walk starts from.
 */
export interface MmuRoot {
  readonly table: number;
  readonly asId: number;
  /** tdp_mmu_root_count / root_count. */
  refcount: number;
  /** role.invalid. */
  invalid: boolean;
}

/** What mapping a gfn needs from struct kvm_page_fault. */
export interface MmuFault {
  gfn: number;
  pfn: number;
  goalLevel: number;
  write: boolean;
  /** The SPTE may be writable (fault->map_writable and a writable slot). */
  mapWritable: boolean;
  /**
   * KVM took a reference on the page (refcounted_page not NULL): the stevens-v11 policy records it
   * in the SPTE (SPTE_MMU_PAGE_REFCOUNTED). Undefined: false.
   */
  refcounted?: boolean;
  /** fault->slot; null: no memslot, so `map` installs an MMIO SPTE (undefined: always a slot). */
  slot?: KvmMemorySlot | null;
}

/**
 * One VM's x86 MMU, TDP or shadow (the kernel's `kvm.tdp_mmu` parameter picks it per VM).
 * Locking is as in the kernel: `map` runs under mmu_lock in the mode `faultLockShared` names,
 * `unmapGfnRange` under the write lock, `ageGfnRange` under the write lock or locklessly.
 */
export interface X86Mmu {
  /** The page-table pages the CPU walks from a root's `table` (what the EPT pointer reaches). */
  readonly pool: SptePool;
  /** EPT Accessed/Dirty bits are on (kvm_ad_enabled). */
  readonly adEnabled: boolean;
  /**
   * The fault path takes mmu_lock for read (the TDP MMU, kvm_tdp_mmu_page_fault) rather than for
   * write (the shadow MMU, direct_page_fault).
   */
  readonly faultLockShared: boolean;

  /**
   * Bytes of the simulator's state for this MMU beyond `pool` (the shadow MMU's rmaps, pte_list
   * descriptors and shadow pages; 0 for the TDP MMU, whose state is its pool).
   */
  simulatorBytes(): number;
  /** kvm_mmu_load's root allocation (mmu_alloc_direct_roots): a valid root of `asId`, referenced. */
  allocRoot(asId: number): MmuRoot;
  /** kvm_mmu_free_roots for one root: drops the vCPU's reference (the root goes at zero). */
  putRoot(t: SimThread, root: MmuRoot): void;
  /** is_obsolete_root: the root must be reloaded before the vCPU enters the guest again. */
  isObsoleteRoot(root: MmuRoot): boolean;
  /** fast_page_fault: fix the SPTE without mmu_lock, or RET_PF_INVALID for the slow path. */
  fastPageFault(t: SimThread, root: MmuRoot, gfn: number, write: boolean): number;
  /** kvm_tdp_mmu_map / direct_map, under mmu_lock as `faultLockShared` says. Returns RET_PF_*. */
  map(t: SimThread, root: MmuRoot, f: MmuFault): number;
  /** kvm_unmap_gfn_range (mmu_lock held for write). Returns whether a TLB flush is needed. */
  unmapGfnRange(t: SimThread, asId: number, start: number, end: number): boolean;
  /**
   * kvm_age_gfn (testOnly false) / kvm_test_age_gfn (true) over [start, end). `bitmap`, when given,
   * is seed 000's young bitmap indexed by `lastGfn - gfn`. Returns whether any gfn was young.
   */
  ageGfnRange(
    t: SimThread,
    asId: number,
    start: number,
    end: number,
    testOnly: boolean,
    lockless: boolean,
    bitmap?: Uint32Array | null,
    lastGfn?: number,
  ): boolean;
  /** kvm_arch_flush_shadow_memslot: zap the slot's mappings and flush. */
  flushShadowMemslot(t: SimThread, slot: KvmMemorySlot): void;
  /** kvm_tdp_mmu_invalidate_roots / the shadow MMU's obsolete roots (mmu_lock held for write). */
  invalidateRoots(t: SimThread): void;
  /**
   * kvm_mmu_zap_all_fast (caller holds slots_lock): make every root obsolete, ask each vCPU to
   * reload (KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), then zap what the obsolete roots map. It may drop
   * mmu_lock and let other threads run in between (cond_resched_rwlock_write), hence a generator.
   */
  zapAllFast(t: SimThread): Generator<void, void, void>;
  /**
   * get_mmio_spte: the leaf SPTE for `gfn` under `root` read locklessly into `out`; returns true
   * only if it is an MMIO SPTE (is_mmio_spte), which handle_mmio_page_fault then checks.
   */
  getMmioSpte(t: SimThread, root: MmuRoot, gfn: number, out: Spte): boolean;
}
