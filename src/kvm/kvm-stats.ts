/**
 * Models no kernel file: the model's counters of one VM for reports (`--json`), not KVM's
 * binary stats.
 */
/** Counters of one VM, reported by `--json`. */
export class KvmStats {
  /** EPT violations taken by vCPUs. */
  eptViolations = 0;
  /** Faults fixed by fast_page_fault without mmu_lock. */
  fastPageFaults = 0;
  /** Faults that installed an SPTE (RET_PF_FIXED) through the slow path. */
  faultsFixed = 0;
  /** RET_PF_SPURIOUS. */
  faultsSpurious = 0;
  /** RET_PF_RETRY (stale fault or a lost cmpxchg). */
  faultRetries = 0;
  /** cmpxchg64 on an SPTE that lost against another writer in the fault path. */
  mapCasFailures = 0;
  /** kvm_flush_remote_tlbs calls and the IPIs they sent. */
  tlbFlushes = 0;
  tlbFlushIpis = 0;
  /** Leaf SPTEs zapped by invalidations. */
  sptesZapped = 0;
  /** Zapped accessed leaves that kvm_set_pfn_accessed marked (a policy that marks on zap). */
  zapMarkedAccessed = 0;
  /** kvm_age_gfn / kvm_test_age_gfn calls (one per memslot range). */
  ageGfnCalls = 0;
  testAgeGfnCalls = 0;
  /** Leaf SPTEs whose Accessed state was cleared by aging. */
  sptesAged = 0;
  /** Lockless aging cmpxchg failures (the SPTE counts as young). */
  ageCasFailures = 0;
  /** Invalidations (invalidate_range_start calls that matched a memslot). */
  invalidations = 0;

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
