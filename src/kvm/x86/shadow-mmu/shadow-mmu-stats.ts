/**
 * Models the shadow-MMU fields of struct kvm_vm_stat and struct kvm_arch (arch/x86/include/asm/kvm_host.h,
 * updated in arch/x86/kvm/mmu/mmu.c), plus the model's own counters of zapping work.
 */

/** Counters of one VM's shadow MMU: the kernel's names where it has them. */
export class ShadowMmuStats {
  /** kvm->stat.mmu_shadow_zapped: __kvm_mmu_prepare_zap_page calls. */
  mmuShadowZapped = 0;
  /** kvm->stat.mmu_cache_miss: kvm_mmu_find_shadow_page found nothing. */
  mmuCacheMiss = 0;
  /** kvm->stat.max_mmu_rmap_size. */
  maxMmuRmapSize = 0;
  /** kvm->stat.max_mmu_page_hash_collisions. */
  maxMmuPageHashCollisions = 0;
  /** kvm->arch.n_used_mmu_pages (kvm_account_mmu_page / kvm_unaccount_mmu_page). */
  nUsedMmuPages = 0;
  /** Shadow pages created (kvm_mmu_alloc_shadow_page) and freed (kvm_mmu_free_shadow_page). */
  pagesAllocated = 0;
  pagesFreed = 0;
  /** SPTEs installed by direct_pte_prefetch. */
  sptesPrefetched = 0;
  /** kvm_make_all_cpus_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS) calls. */
  freeObsoleteRootsRequests = 0;
  /** kvm_mmu_zap_all_fast calls. */
  zapAllFast = 0;
  /** Pages kvm_zap_obsolete_pages looked at, and its `goto restart`s. */
  obsoleteVisited = 0;
  obsoleteRestarts = 0;
  /** cond_resched_rwlock_write calls that dropped mmu_lock (a lock break). */
  lockBreaks = 0;
  /** __kvm_rmap_lock calls that set KVM_RMAP_LOCKED, those by read-only lockers, and empty heads (elided). */
  rmapLocks = 0;
  rmapLocksReadonly = 0;
  rmapLocksElided = 0;
  /** __kvm_rmap_lock calls that spun on a locked head; their time in total and at most. */
  rmapLockWaits = 0;
  rmapLockWaitNs = 0;
  rmapLockMaxWaitNs = 0;
  /** MMIO SPTEs cleared by mmu_page_zap_pte (zapping their shadow page). */
  mmioSptesZapped = 0;
  /** kvm->stat.mmu_recycled: pages kvm_mmu_zap_oldest_mmu_pages zapped. */
  mmuRecycled = 0;
  /** Non-empty rmap heads walked by kvm_age_gfn / kvm_test_age_gfn. */
  rmapHeadsWalked = 0;

  /** Plain-object copy for reports. */
  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
