/**
 * Models virt/kvm/kvm_main.c and arch/x86/kvm/mmu/tdp_mmu.c before 6.13: kvm_set_pfn_accessed
 * from handle_changed_spte_acc_track when an accessed leaf SPTE is zapped (kvmZapAccessedSpte),
 * as the accessed/dirty policy (ad-policy.ts) decides; from 6.13 nothing is marked.
 */
import { folioMarkAccessed, MARK_ACCESSED_LRU_GEN_REFS } from '../host/folio-mark-accessed.ts';
import { PG_RESERVED } from '../host/page-flags.ts';
import type { SimThread } from '../sim/thread.ts';
import type { Kvm } from './kvm.ts';

/**
 * A leaf SPTE mapping `pfn` for `gfn` was zapped while its Accessed bit was set: with a policy
 * that marks on zap, kvm_set_pfn_accessed → kvm_set_page_accessed → folio_mark_accessed (not for
 * PageReserved pages, nor device pfns, nor, in stevens-v11, SPTEs without the refcounted bit:
 * `marks` false); otherwise the bit is simply gone. Host NUMA balancing, if on, records where
 * the bit went for its event trail.
 */
export function kvmZapAccessedSpte(t: SimThread, kvm: Kvm, pfn: number, gfn: number, marks = true): void {
  const host = kvm.host;
  let outcome: 'dropped' | 'idle-cleared' | 'lru-gen-refs' = 'dropped';
  if (
    kvm.adPolicy.accessedOnZap &&
    marks &&
    pfn < host.mem.flags.length &&
    !(host.mem.flags[pfn] & PG_RESERVED)
  ) {
    outcome = folioMarkAccessed(host, pfn) === MARK_ACCESSED_LRU_GEN_REFS ? 'lru-gen-refs' : 'idle-cleared';
    kvm.stats.zapMarkedAccessed++;
  }
  host.numaBalancing?.noteAccessedZap(t, pfn, gfn, outcome);
}
