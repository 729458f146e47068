/**
 * Models include/linux/kvm_host.h: the error pfns (KVM_PFN_ERR_*, KVM_PFN_NOSLOT) and their tests
 * (is_error_pfn, is_sigpending_pfn).
 *
 * The kernel puts error pfns above any real pfn: KVM_PFN_ERR_MASK is 0x7ff << 52, the errors are
 * the mask plus 0..4, and KVM_PFN_NOSLOT is 1 << 63. A JS number cannot hold those exactly, so the
 * model keeps the same order of values below every real pfn instead: KVM_PFN_NOSLOT is -1 and the
 * KVM_PFN_ERR_* are -2 downwards. The predicates are the kernel's.
 */

/** KVM_PFN_NOSLOT: the gfn has no usable memslot (an INVALID slot, or none); not an error pfn. */
export const KVM_PFN_NOSLOT = -1;
/** KVM_PFN_ERR_FAULT (KVM_PFN_ERR_MASK): GUP failed and nothing else applies. */
export const KVM_PFN_ERR_FAULT = -2;
/** KVM_PFN_ERR_HWPOISON: the page is hardware-poisoned (GUP's -EHWPOISON). */
export const KVM_PFN_ERR_HWPOISON = -3;
/** KVM_PFN_ERR_RO_FAULT: a write to a read-only memslot or a read-only PFNMAP PTE. */
export const KVM_PFN_ERR_RO_FAULT = -4;
/** KVM_PFN_ERR_SIGPENDING: GUP stopped for a pending signal (-EINTR or -EAGAIN). */
export const KVM_PFN_ERR_SIGPENDING = -5;
/** KVM_PFN_ERR_NEEDS_IO: FOLL_NOWAIT and the page needs I/O (the VMA allows the access). */
export const KVM_PFN_ERR_NEEDS_IO = -6;

/** is_error_pfn: one of the KVM_PFN_ERR_* (not KVM_PFN_NOSLOT). */
export function isErrorPfn(pfn: number): boolean {
  return pfn <= KVM_PFN_ERR_FAULT;
}

/** is_sigpending_pfn. */
export function isSigpendingPfn(pfn: number): boolean {
  return pfn === KVM_PFN_ERR_SIGPENDING;
}
