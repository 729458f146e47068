/**
 * Models no kernel file: the model's counters of how one VM faulted pages in (kvm_follow_pfn's
 * paths, references, SPTE levels), kept apart from KvmStats so that `--json` reports are unchanged.
 */

/** Counters of fault-in, by path, reference and mapping level. */
export class FaultinStats {
  /** hva_to_pfn results by path: fast GUP, slow GUP, hva_to_pfn_remapped, and the fixups it ran. */
  fastGup = 0;
  slowGup = 0;
  remapped = 0;
  fixups = 0;
  /** Faults the converged walk (seed 002's proposal) resolved in place of fast GUP. */
  convergedWalks = 0;
  /** Remapped pfns KVM took a reference on (kvm_try_get_pfn), and those it refused (refcount 0). */
  remappedRefs = 0;
  remappedRefused = 0;
  /** Leaf SPTEs installed by the fault path, by level (index 1 = 4K, 2 = 2M, 3 = 1G). */
  readonly spteLevels = [0, 0, 0, 0];
  /** Leaf SPTEs zapped with and without SPTE_MMU_PAGE_REFCOUNTED (stevens-v11 only). */
  zappedRefcounted = 0;
  zappedNonRefcounted = 0;
}
