/**
 * Models arch/x86/kvm/mmu/mmu.c: __kvm_mmu_faultin_pfn (kvmMmuFaultinPfn, with the error check of
 * kvm_mmu_faultin_pfn) and kvm_handle_error_pfn (kvmHandleErrorPfn), for shared (not private) gfns.
 */
import { EFAULT, EINTR, FOLL_INTERRUPTIBLE, FOLL_NOWAIT, FOLL_WRITE } from '../../host/gup.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type FaultinPfn, kvmFaultinPfn } from '../follow-pfn.ts';
import type { Kvm } from '../kvm.ts';
import {
  isErrorPfn,
  isSigpendingPfn,
  KVM_PFN_ERR_HWPOISON,
  KVM_PFN_ERR_NEEDS_IO,
  KVM_PFN_ERR_RO_FAULT,
} from '../kvm-pfn.ts';
import { KVM_MEMSLOT_INVALID, type KvmMemorySlot } from '../memslots.ts';
import { RET_PF_CONTINUE, RET_PF_EMULATE, RET_PF_RETRY } from './kvm-mmu.ts';

/**
 * kvm_handle_error_pfn: a pending signal → -EINTR (kvm_handle_signal_exit: KVM_EXIT_INTR to
 * userspace); a write to read-only memory → RET_PF_EMULATE (emulated as an MMIO write, without
 * caching MMIO info, so reads still map the page); a poisoned page → RET_PF_RETRY after
 * kvm_send_hwpoison_signal (SIGBUS to the VMM); anything else → -EFAULT out of KVM_RUN.
 */
export function kvmHandleErrorPfn(pfn: number): number {
  if (isSigpendingPfn(pfn)) return EINTR;
  if (pfn === KVM_PFN_ERR_RO_FAULT) return RET_PF_EMULATE;
  if (pfn === KVM_PFN_ERR_HWPOISON) return RET_PF_RETRY;
  return EFAULT;
}

/**
 * __kvm_mmu_faultin_pfn, then kvm_mmu_faultin_pfn's check of the result: fault in with FOLL_NOWAIT
 * first; if the page needs I/O, retry allowing it to wait, and to stop for a pending signal
 * (FOLL_INTERRUPTIBLE). The model has no asynchronous page faults (kvm_can_do_async_pf is false),
 * so NEEDS_IO always takes the retry. A slot being deleted or moved (INVALID) is retried before
 * fault-in, so that its SPTEs are zapped first. Returns RET_PF_CONTINUE with the pfn in `out`, or
 * what kvm_handle_error_pfn makes of an error pfn.
 */
export function kvmMmuFaultinPfn(
  t: SimThread,
  kvm: Kvm,
  slot: KvmMemorySlot,
  gfn: number,
  write: boolean,
  out: FaultinPfn,
): number {
  if (slot.flags & KVM_MEMSLOT_INVALID) return RET_PF_RETRY;
  let foll = (write ? FOLL_WRITE : 0) | FOLL_NOWAIT;
  let pfn = kvmFaultinPfn(t, kvm, slot, gfn, foll, out);
  if (pfn === KVM_PFN_ERR_NEEDS_IO) {
    foll = (foll | FOLL_INTERRUPTIBLE) & ~FOLL_NOWAIT;
    pfn = kvmFaultinPfn(t, kvm, slot, gfn, foll, out);
  }
  return isErrorPfn(pfn) ? kvmHandleErrorPfn(pfn) : RET_PF_CONTINUE;
}
