/**
 * Models virt/kvm/kvm_main.c: hva_to_pfn and its parts (hva_to_pfn_fast, hva_to_pfn_slow,
 * vma_is_valid, hva_to_pfn_remapped, kvm_resolve_pfn), with struct kvm_follow_pfn of
 * virt/kvm/kvm_mm.h. The mm is the VM's (current->mm in the kernel: the VMM's).
 */
import { type ConvergedWalk, followPfnLockless } from '../host/converged-walk.ts';
import { type FollowPfnmapArgs, followPfnmapStart } from '../host/follow-pfnmap.ts';
import {
  EAGAIN,
  EFAULT,
  EHWPOISON,
  EINTR,
  EINVAL,
  FOLL_HONOR_NUMA_FAULT,
  FOLL_HWPOISON,
  FOLL_NOWAIT,
  FOLL_WRITE,
  fixupUserFault,
  getUserPageFastOnly,
  getUserPagesUnlocked,
} from '../host/gup.ts';
import type { Mm } from '../host/mm.ts';
import { PG_RESERVED } from '../host/page-flags.ts';
import { VM_IO, VM_PFNMAP, type Vma } from '../host/vma.ts';
import type { SimThread } from '../sim/thread.ts';
import type { AdPolicy } from './ad-policy.ts';
import type { FaultinStats } from './faultin-stats.ts';
import {
  KVM_PFN_ERR_FAULT,
  KVM_PFN_ERR_HWPOISON,
  KVM_PFN_ERR_NEEDS_IO,
  KVM_PFN_ERR_RO_FAULT,
  KVM_PFN_ERR_SIGPENDING,
} from './kvm-pfn.ts';
import type { KvmMemorySlot } from './memslots.ts';

/** NULL for `refcounted_page`: no reference was taken. */
export const NO_PAGE = -1;

/** What __kvm_faultin_pfn hands back: the pfn, *map_writable and *refcounted_page. */
export interface FaultinPfn {
  /** The pfn, or an error pfn (kvm-pfn.ts). */
  pfn: number;
  /** *map_writable: the pfn may be mapped writable. */
  writable: boolean;
  /** *refcounted_page: the page GUP took a reference on (its pfn), or NO_PAGE. */
  refcountedPage: number;
  /**
   * Not in the kernel: the host mapping level the converged walk found (converged-walk.ts), or 0
   * when the pfn came from GUP or hva_to_pfn_remapped and host_pfn_mapping_level must walk again.
   */
  level: number;
}

/** struct kvm_follow_pfn (virt/kvm/kvm_mm.h). */
export interface KvmFollowPfn {
  readonly slot: KvmMemorySlot;
  readonly gfn: number;
  /** FOLL_* flags for GUP: FOLL_WRITE, FOLL_NOWAIT, FOLL_INTERRUPTIBLE. */
  readonly flags: number;
  /** Pin the page (FOLL_PIN) rather than get it: for accesses outside MMU-notifier protection. */
  readonly pin: boolean;
  /**
   * map_writable is not NULL: the caller wants to know whether the pfn may be mapped writable (the
   * answer goes to `out.writable`). kvm_follow_pfn clears it for a read-only memslot.
   */
  mapWritable: boolean;
  /** Where *map_writable and *refcounted_page are written. */
  readonly out: FaultinPfn;
  /** The hva of `gfn` in `slot` (set by kvm_follow_pfn). */
  hva: number;
  /**
   * Not a kernel field: which kernel's rules apply (ad-policy.ts): whether hva_to_pfn_remapped
   * takes a reference on a pfn with a refcounted struct page, and what it does with refcount 0.
   */
  readonly policy: AdPolicy;
  /** Not a kernel field: where the path taken is counted. */
  readonly stats?: FaultinStats;
  /** Not a kernel field: the converged walk replaces hva_to_pfn_fast (seed 002's proposal). */
  readonly converged?: boolean;
}

/** The module parameter allow_unsafe_mappings (read-only, default false). */
export const ALLOW_UNSAFE_MAPPINGS = false;

/**
 * kvm_resolve_pfn: report writability if asked and the page a reference was taken on (`page`, or
 * NO_PAGE for a remapped pfn, whose pfn is `mapPfn`). Returns the pfn.
 */
function kvmResolvePfn(kfp: KvmFollowPfn, page: number, mapPfn: number, writable: boolean): number {
  if (kfp.mapWritable) kfp.out.writable = writable;
  kfp.out.refcountedPage = page;
  return page !== NO_PAGE ? page : mapPfn;
}

/**
 * hva_to_pfn_fast: only when the caller wants the page writable or asks map_writable (a read
 * fault must take the slow path, so as not to race a copy-on-write break and map a stale page);
 * get_user_page_fast_only with FOLL_WRITE. Returns the pfn, or -1 when the fast path does not
 * apply or fails.
 */
export function hvaToPfnFast(t: SimThread, mm: Mm, kfp: KvmFollowPfn): number {
  if (!(kfp.flags & FOLL_WRITE || kfp.mapWritable)) return -1;
  const page = getUserPageFastOnly(t, mm, kfp.hva, true);
  return page < 0 ? -1 : kvmResolvePfn(kfp, page, 0, true);
}

/**
 * hva_to_pfn_slow: get_user_pages_unlocked with FOLL_HWPOISON | FOLL_HONOR_NUMA_FAULT | flags;
 * after a read with map_writable asked, one write-fast GUP maps the read fault writable if it can.
 * Returns the pfn, or GUP's negative errno.
 */
export function hvaToPfnSlow(t: SimThread, mm: Mm, kfp: KvmFollowPfn): number {
  let flags = FOLL_HWPOISON | FOLL_HONOR_NUMA_FAULT | kfp.flags;
  let page = getUserPagesUnlocked(t, mm, kfp.hva, flags);
  if (page < 0) return page;
  if (!(flags & FOLL_WRITE) && kfp.mapWritable && !kfp.pin) {
    const wpage = getUserPageFastOnly(t, mm, kfp.hva, true);
    if (wpage >= 0) {
      mm.host.mem.refs.putPage(page);
      page = wpage;
      flags |= FOLL_WRITE;
    }
  }
  return kvmResolvePfn(kfp, page, 0, (flags & FOLL_WRITE) !== 0);
}

/** vma_is_valid: the VMA allows the access (every model VMA is VM_READ; VM_WRITE is `writable`). */
export function vmaIsValid(vma: Vma, writeFault: boolean): boolean {
  return !writeFault || vma.writable;
}

const pfnmapArgs: FollowPfnmapArgs = { pfn: 0, writable: false, level: 1 };

/**
 * kvm_try_get_pfn (before 6.13) and the posted series' is_refcounted: a pfn with a struct page that
 * is not PageReserved gets a reference with get_page_unless_zero. Returns the page referenced,
 * NO_PAGE when none is taken (no struct page, a reserved one, or refcount 0 under a policy that
 * maps such pages), or REFUSED when the policy refuses a page with refcount 0 (-EFAULT, commit
 * f8be156be163).
 */
const REFUSED = -2;

function remappedPageRef(mm: Mm, kfp: KvmFollowPfn, pfn: number): number {
  const refs = mm.host.mem.refs;
  if (!kfp.policy.refPfnmapPages || !refs.pfnValid(pfn) || mm.host.mem.flags[pfn] & PG_RESERVED)
    return NO_PAGE;
  if (refs.getPageUnlessZero(pfn)) {
    if (kfp.stats) kfp.stats.remappedRefs++;
    return pfn;
  }
  if (kfp.stats) kfp.stats.remappedRefused++;
  return kfp.policy.nonRefcounted === 'efault' ? REFUSED : NO_PAGE;
}

/**
 * hva_to_pfn_remapped, mmap_lock held: the pfn of a VM_IO|VM_PFNMAP mapping, found with
 * follow_pfnmap_start, after fixup_user_fault if nothing is mapped yet. In 6.13 no reference is
 * taken (refcounted_page NULL) and the MMU notifiers protect the mapping; the policy may take one
 * (`remappedPageRef`). Returns 0 with the pfn (or KVM_PFN_ERR_RO_FAULT for a write to a read-only
 * leaf) in `res.pfn`, or a negative errno: -EINVAL for a pin without allow_unsafe_mappings, -EAGAIN
 * if the fixup dropped mmap_lock, -EFAULT for a page with refcount 0 the policy refuses.
 */
export function hvaToPfnRemapped(
  t: SimThread,
  mm: Mm,
  vma: Vma,
  kfp: KvmFollowPfn,
  res: { pfn: number },
): number {
  const writeFault = (kfp.flags & FOLL_WRITE) !== 0;
  if (kfp.pin && !ALLOW_UNSAFE_MAPPINGS) return EINVAL;
  let r = followPfnmapStart(mm, vma, kfp.hva, pfnmapArgs);
  if (r !== 0) {
    // get_user_pages fails for VM_IO and VM_PFNMAP VMAs without calling the fault handler.
    if (kfp.stats) kfp.stats.fixups++;
    r = fixupUserFault(t, mm, kfp.hva, writeFault);
    if (r !== 0) return r;
    r = followPfnmapStart(mm, vma, kfp.hva, pfnmapArgs);
    if (r !== 0) return r;
  }
  if (writeFault && !pfnmapArgs.writable) {
    res.pfn = KVM_PFN_ERR_RO_FAULT;
    return 0;
  }
  const page = remappedPageRef(mm, kfp, pfnmapArgs.pfn);
  if (page === REFUSED) return EFAULT;
  res.pfn = kvmResolvePfn(kfp, page, pfnmapArgs.pfn, pfnmapArgs.writable);
  return 0;
}

const remapped = { pfn: 0 };
const walked: ConvergedWalk = { pfn: 0, level: 0 };

/**
 * The converged walk in place of hva_to_pfn_fast (not in any kernel): under the same condition
 * (a write, or map_writable asked), one lockless walk returns the pfn and its mapping level and
 * takes no reference, the MMU notifiers protecting the SPTE instead. Returns the pfn or -1.
 */
export function hvaToPfnConverged(t: SimThread, mm: Mm, kfp: KvmFollowPfn): number {
  if (!(kfp.flags & FOLL_WRITE || kfp.mapWritable)) return -1;
  if (!followPfnLockless(t, mm, kfp.hva, walked)) return -1;
  kfp.out.level = walked.level;
  return kvmResolvePfn(kfp, NO_PAGE, walked.pfn, true);
}

/**
 * hva_to_pfn: the fast path (or the converged walk in its place), the slow path, then, if GUP failed for another reason than a signal
 * or poison, a look at the VMA under mmap_lock: none → KVM_PFN_ERR_FAULT; VM_IO|VM_PFNMAP →
 * hva_to_pfn_remapped (retried on -EAGAIN); FOLL_NOWAIT on a VMA that allows the access →
 * KVM_PFN_ERR_NEEDS_IO (the caller may fault it in asynchronously); else KVM_PFN_ERR_FAULT.
 */
export function hvaToPfn(t: SimThread, mm: Mm, kfp: KvmFollowPfn): number {
  if (kfp.converged) {
    const pfn = hvaToPfnConverged(t, mm, kfp);
    if (pfn >= 0) {
      if (kfp.stats) kfp.stats.convergedWalks++;
      return pfn;
    }
  } else {
    const fast = hvaToPfnFast(t, mm, kfp);
    if (fast >= 0) {
      if (kfp.stats) kfp.stats.fastGup++;
      return fast;
    }
  }
  const npages = hvaToPfnSlow(t, mm, kfp);
  if (npages >= 0) {
    if (kfp.stats) kfp.stats.slowGup++;
    return npages;
  }
  if (npages === EINTR || npages === EAGAIN) return KVM_PFN_ERR_SIGPENDING;
  if (npages === EHWPOISON) return KVM_PFN_ERR_HWPOISON;
  mm.mmapLock.readLock(t);
  let pfn: number;
  for (;;) {
    const vma = mm.findVma(kfp.hva);
    if (vma === null) pfn = KVM_PFN_ERR_FAULT;
    else if (vma.vmFlags & (VM_IO | VM_PFNMAP)) {
      const r = hvaToPfnRemapped(t, mm, vma, kfp, remapped);
      if (r === EAGAIN) continue;
      pfn = r < 0 ? KVM_PFN_ERR_FAULT : remapped.pfn;
      if (r === 0 && kfp.stats) kfp.stats.remapped++;
    } else if (kfp.flags & FOLL_NOWAIT && vmaIsValid(vma, (kfp.flags & FOLL_WRITE) !== 0))
      pfn = KVM_PFN_ERR_NEEDS_IO;
    else pfn = KVM_PFN_ERR_FAULT;
    break;
  }
  mm.mmapLock.readUnlock(t);
  return pfn;
}
