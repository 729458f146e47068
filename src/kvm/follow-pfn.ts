/** Models virt/kvm/kvm_main.c: kvm_follow_pfn → hva_to_pfn (kvmFollowPfn): fast GUP, then slow GUP. */
import { EFAULT, getUserPageFastOnly, getUserPagesUnlocked } from '../host/gup.ts';
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import type { Kvm } from './kvm.ts';
import { gfnToHvaMemslot, KVM_MEM_READONLY, KVM_MEMSLOT_INVALID, type KvmMemorySlot } from './memslots.ts';

/** Result of kvm_follow_pfn: the pfn (or a negative error) and whether it may be mapped writable. */
export interface FollowPfn {
  pfn: number;
  writable: boolean;
}

/**
 * kvm_follow_pfn → hva_to_pfn (virt/kvm/kvm_main.c): the fast GUP path only for writes or when the
 * mapping may be writable (read faults skip it to avoid a COW race), then the slow path; after a read
 * fault with map_writable, one more write-fast GUP decides whether the SPTE may be writable.
 * A READONLY slot never maps writable; an INVALID slot has no hva.
 */
export function kvmFollowPfn(
  t: SimThread,
  kvm: Kvm,
  slot: KvmMemorySlot,
  gfn: number,
  write: boolean,
  out: FollowPfn,
): void {
  // GUP and the host fault it may run are the host's fault path in time accounting.
  const prev = t.enter(CAT.hostFault);
  try {
    out.pfn = EFAULT;
    out.writable = false;
    if (slot.flags & KVM_MEMSLOT_INVALID) return;
    const readonly = (slot.flags & KVM_MEM_READONLY) !== 0;
    if (write && readonly) return;
    const mapWritable = !readonly;
    const hva = gfnToHvaMemslot(slot, gfn);
    if (write || mapWritable) {
      const pfn = getUserPageFastOnly(t, kvm.mm, hva, true);
      if (pfn >= 0) {
        out.pfn = pfn;
        out.writable = mapWritable;
        return;
      }
    }
    const pfn = getUserPagesUnlocked(t, kvm.mm, hva, write);
    if (pfn < 0) return;
    out.pfn = pfn;
    if (write) out.writable = true;
    else if (mapWritable) out.writable = getUserPageFastOnly(t, kvm.mm, hva, true) === pfn;
  } finally {
    t.leave(prev);
  }
}
