/**
 * Models virt/kvm/kvm_main.c: kvm_follow_pfn (kvmFollowPfn) and __kvm_faultin_pfn (kvmFaultinPfn),
 * the entry from an architecture's page fault into hva_to_pfn (hva-to-pfn.ts).
 */
import { FOLL_WRITE } from '../host/gup.ts';
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import { type FaultinPfn, hvaToPfn, type KvmFollowPfn, NO_PAGE } from './hva-to-pfn.ts';
import type { Kvm } from './kvm.ts';
import { KVM_PFN_ERR_RO_FAULT, KVM_PFN_NOSLOT } from './kvm-pfn.ts';
import { gfnToHvaMemslot, KVM_MEM_READONLY, KVM_MEMSLOT_INVALID, type KvmMemorySlot } from './memslots.ts';

export type { FaultinPfn, KvmFollowPfn } from './hva-to-pfn.ts';

/**
 * kvm_follow_pfn: the hva (__gfn_to_hva_many: an INVALID slot has none → KVM_PFN_NOSLOT; a write
 * to a READONLY slot → KVM_PFN_ERR_RO_FAULT), map_writable cleared for a READONLY slot (reported
 * false), then hva_to_pfn. Returns the pfn or an error pfn.
 */
export function kvmFollowPfn(t: SimThread, kvm: Kvm, kfp: KvmFollowPfn): number {
  const readonly = (kfp.slot.flags & KVM_MEM_READONLY) !== 0;
  if (kfp.slot.flags & KVM_MEMSLOT_INVALID) return KVM_PFN_NOSLOT;
  if (readonly && kfp.flags & FOLL_WRITE) return KVM_PFN_ERR_RO_FAULT;
  kfp.hva = gfnToHvaMemslot(kfp.slot, kfp.gfn);
  if (readonly && kfp.mapWritable) {
    kfp.out.writable = false;
    kfp.mapWritable = false;
  }
  return hvaToPfn(t, kvm.mm, kfp);
}

/**
 * __kvm_faultin_pfn(slot, gfn, foll, &writable, &refcounted_page): clears both outputs and runs
 * kvm_follow_pfn with map_writable asked. The result also goes to `out.pfn`, which it returns.
 * GUP and any host fault it runs count as the host's fault path in time accounting.
 */
export function kvmFaultinPfn(
  t: SimThread,
  kvm: Kvm,
  slot: KvmMemorySlot,
  gfn: number,
  foll: number,
  out: FaultinPfn,
): number {
  const prev = t.enter(CAT.hostFault);
  try {
    out.writable = false;
    out.refcountedPage = NO_PAGE;
    out.level = 0;
    const kfp: KvmFollowPfn = {
      slot,
      gfn,
      flags: foll,
      pin: false,
      mapWritable: true,
      out,
      hva: 0,
      policy: kvm.adPolicy,
      stats: kvm.faultin,
      converged: kvm.walk === 'converged',
    };
    out.pfn = kvmFollowPfn(t, kvm, kfp);
    return out.pfn;
  } finally {
    t.leave(prev);
  }
}
