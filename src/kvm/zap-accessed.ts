/**
 * Models virt/kvm/kvm_main.c and arch/x86/kvm/mmu/tdp_mmu.c before 6.13: kvm_set_pfn_accessed
 * from handle_changed_spte_acc_track when an accessed leaf SPTE is zapped (kvmZapAccessedSpte),
 * as the accessed/dirty policy (ad-policy.ts) decides; from 6.13 nothing is marked.
 */
import { folioMarkAccessed, MARK_ACCESSED_LRU_GEN_REFS } from '../host/folio-mark-accessed.ts';
import { PG_RESERVED } from '../host/page-flags.ts';
import type { SimThread } from '../sim/thread.ts';
import type { AdPolicy } from './ad-policy.ts';
import type { Kvm } from './kvm.ts';

/**
 * The policy whose accessedOnZap the zap path follows, per VM. The model's KvmOptions has no
 * accessed/dirty policy yet; until it has, a run sets it here. No policy: nothing is marked and
 * nothing is recorded, as before.
 */
const zapPolicies = new WeakMap<Kvm, AdPolicy>();

/** Makes the zap path of `kvm` follow `policy` (its accessedOnZap). */
export function kvmSetZapAdPolicy(kvm: Kvm, policy: AdPolicy): void {
  zapPolicies.set(kvm, policy);
}

/**
 * A leaf SPTE mapping `pfn` for `gfn` was zapped while its Accessed bit was set: with a policy
 * that marks on zap, kvm_set_pfn_accessed → kvm_set_page_accessed → folio_mark_accessed (not for
 * PageReserved pages); otherwise the bit is simply gone. Host NUMA balancing, if on, records where
 * the bit went for its event trail.
 */
export function kvmZapAccessedSpte(t: SimThread, kvm: Kvm, pfn: number, gfn: number): void {
  const policy = zapPolicies.get(kvm);
  if (policy === undefined) return;
  const host = kvm.host;
  let outcome: 'dropped' | 'idle-cleared' | 'lru-gen-refs' = 'dropped';
  if (policy.accessedOnZap && !(host.mem.flags[pfn] & PG_RESERVED)) {
    outcome = folioMarkAccessed(host, pfn) === MARK_ACCESSED_LRU_GEN_REFS ? 'lru-gen-refs' : 'idle-cleared';
    kvm.stats.zapMarkedAccessed++;
  }
  host.numaBalancing?.noteAccessedZap(t, pfn, gfn, outcome);
}
