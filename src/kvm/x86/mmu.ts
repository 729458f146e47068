/**
 * Models arch/x86/kvm/mmu/mmu.c: kvm_tdp_page_fault (kvmTdpPageFaultBegin / Slow / Map), which is
 * kvm_tdp_mmu_page_fault with the TDP MMU and direct_page_fault with the shadow MMU,
 * and kvm_mmu_finish_page_fault's release of the page (the mapping level is in host-pfn-mapping-level.ts).
 */
import { followPteLockless, pteTableMustWait, waitForPteTable } from '../../host/gup.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type FaultinPfn, NO_PAGE } from '../hva-to-pfn.ts';
import type { Kvm } from '../kvm.ts';
import { KvmRunError } from '../kvm-run-error.ts';
import { gfnToHvaMemslot, type KvmMemorySlot } from '../memslots.ts';
import { kvmReleaseFaultinPage } from '../release-page.ts';
import type { KvmVcpu } from '../vcpu.ts';
import { kvmMmuFaultinPfn } from './faultin-pfn.ts';
import { kvmMmuHugepageAdjust } from './host-pfn-mapping-level.ts';
import {
  type MmuFault,
  RET_PF_CONTINUE,
  RET_PF_EMULATE,
  RET_PF_FIXED,
  RET_PF_INVALID,
  RET_PF_RETRY,
  RET_PF_SPURIOUS,
  RET_PF_WRITE_PROTECTED,
} from './kvm-mmu.ts';
import { kvmEmulateMmio, kvmHandleNoslotFault } from './noslot-fault.ts';

type Gen<R> = Generator<void, R, void>;

/**
 * struct kvm_page_fault (arch/x86/kvm/mmu/mmu_internal.h): one vCPU's fault in flight. A vCPU has
 * one and reuses it, since it handles one fault at a time; it also carries the fault's place in
 * `handleEptViolation`'s steps.
 */
export class KvmPageFault implements MmuFault {
  gfn = 0;
  write = false;
  /** The exit qualification said the SPTE was present (it granted some access). */
  present = false;
  slot: KvmMemorySlot | null = null;
  /** mmu_invalidate_seq when the fault started (fault->mmu_seq). */
  mmuSeq = 0;
  /** __kvm_faultin_pfn's result: the host pfn, whether it may be mapped writable, the page held. */
  readonly hostPfn: FaultinPfn = { pfn: 0, writable: false, refcountedPage: NO_PAGE, level: 0 };
  /** kvm_mmu_faultin_pfn's return: RET_PF_CONTINUE, or what kvm_handle_error_pfn made of an error. */
  faultinRet = RET_PF_CONTINUE;
  /** The pfn to map, aligned down to `goalLevel` (kvm_mmu_hugepage_adjust). */
  pfn = 0;
  goalLevel = 1;
  mapWritable = false;
  /** KVM holds a reference on the page it maps (the posted series' is_refcounted). */
  refcounted = false;
  /** Direct reclaim or the allocator's slow path must run before fault-in. */
  reclaimFirst = false;
  /** Where `handleEptViolation`'s steps are (see vcpu.ts). */
  phase = 0;
}

/** kvm_tdp_page_fault stopped before taking mmu_lock: other threads go first, then `...Map`. */
export const FAULT_MAP = 0;
/** The fault is done: fixed by the fast path, spurious, or stale before fault-in. */
export const FAULT_DONE = 1;
/** The fault must wait or reclaim before fault-in: run `kvmTdpPageFaultSlow`, then `...Map`. */
export const FAULT_SLOW = 2;

/**
 * kvm_tdp_page_fault (arch/x86/kvm/mmu/mmu.c) for an EPT violation, up to mmu_lock:
 * fast_page_fault first when it can help (A/D off, or a write to a present SPTE); then snapshot
 * mmu_invalidate_seq and fault the pfn in. The caller holds kvm->srcu. Between fault-in and
 * mmu_lock other threads run (a sync point), so an invalidation can make the fault stale there, as
 * in the kernel. The fault is split at that point into plain functions, so the hot path needs no
 * generator of its own; the rare waits before fault-in are `kvmTdpPageFaultSlow`.
 */
export function kvmTdpPageFaultBegin(t: SimThread, vcpu: KvmVcpu, f: KvmPageFault): number {
  const kvm = vcpu.kvm;
  const mmu = kvm.mmu;
  const root = vcpu.root!;
  const gfn = f.gfn;
  t.advance(t.jittered(kvm.engine.profile.kvmFaultEntryNs));
  if (f.present ? f.write : !mmu.adEnabled) {
    const r = mmu.fastPageFault(t, root, gfn, f.write);
    if (r !== RET_PF_INVALID) {
      if (r === RET_PF_FIXED) kvm.stats.fastPageFaults++;
      else kvm.stats.faultsSpurious++;
      return FAULT_DONE;
    }
  }
  const slot = kvm.memslots(root.asId).gfnToMemslot(gfn);
  f.slot = slot;
  f.mmuSeq = kvm.mmuInvalidateSeq;
  f.faultinRet = RET_PF_CONTINUE;
  if (slot === null) {
    kvmHandleNoslotFault(vcpu, f);
    return FAULT_MAP;
  }
  if (kvm.mmuInvalidateRetryGfnUnsafe(f.mmuSeq, gfn)) {
    kvm.stats.faultRetries++;
    return FAULT_DONE;
  }
  // Waits before fault-in go to the generator: reclaim (see reclaimBeforeFaultIn), and the PTE
  // table's lock that a host fault in kvm_follow_pfn takes (do_anonymous_page) while an aging walker
  // holds it.
  const memcg = kvm.mm.memcg;
  f.reclaimFirst =
    (memcg.pages + 1 > memcg.max && kvm.host.memcgReclaim !== null) || kvm.host.allocSlowpath !== null;
  if (f.reclaimFirst || pteTableMustWait(t, kvm.mm, gfnToHvaMemslot(slot, gfn), f.write)) return FAULT_SLOW;
  faultIn(t, kvm, f);
  return FAULT_MAP;
}

/**
 * The waits `kvmTdpPageFaultBegin` left to a generator, then fault-in: direct reclaim at the
 * memcg's limit and the page allocator's slow path if `f.reclaimFirst`, then the wait for a PTE
 * table held by an aging walker if there is one (Begin found one when it did not need reclaim).
 */
export function* kvmTdpPageFaultSlow(t: SimThread, vcpu: KvmVcpu, f: KvmPageFault): Gen<void> {
  const kvm = vcpu.kvm;
  const hva = gfnToHvaMemslot(f.slot!, f.gfn);
  if (f.reclaimFirst) {
    yield* reclaimBeforeFaultIn(t, kvm);
    if (pteTableMustWait(t, kvm.mm, hva, f.write)) yield* waitForPteTable(t, kvm.mm, hva);
  } else yield* waitForPteTable(t, kvm.mm, hva);
  faultIn(t, kvm, f);
}

/** Direct reclaim at the memcg's limit and the page allocator's slow path, before fault-in. */
function* reclaimBeforeFaultIn(t: SimThread, kvm: Kvm): Gen<void> {
  // mem_cgroup_charge of the page the fault may allocate: at memory.max, reclaim directly first. (The
  // host fault path is synchronous in the model, so the charge is checked before fault-in.)
  const memcg = kvm.mm.memcg;
  const reclaim = kvm.host.memcgReclaim;
  if (memcg.pages + 1 > memcg.max && reclaim !== null) {
    memcg.directReclaims++;
    // try_charge: reclaim and retry, up to MAX_RECLAIM_RETRIES (16) times, before the OOM killer.
    for (let retries = 16; memcg.pages + 1 > memcg.max && retries > 0; retries--) yield* reclaim(t, memcg, 1);
    if (memcg.pages + 1 > memcg.max) throw new Error(`memcg ${memcg.path} out of memory (OOM kill)`);
  }
  // The page allocation's slow path (global reclaim), checked before fault-in for the same reason.
  if (kvm.host.allocSlowpath !== null) yield* kvm.host.allocSlowpath(t);
}

/** kvm_mmu_faultin_pfn for the fault: the pfn in `f.hostPfn`, the verdict in `f.faultinRet`. */
function faultIn(t: SimThread, kvm: Kvm, f: KvmPageFault): void {
  f.faultinRet = kvmMmuFaultinPfn(t, kvm, f.slot!, f.gfn, f.write, f.hostPfn);
}

/**
 * kvm_tdp_page_fault's return when fault-in failed, before mmu_lock: RET_PF_RETRY (a poisoned page,
 * an INVALID slot) re-enters the guest, RET_PF_EMULATE (a write to read-only memory) exits to
 * userspace as an MMIO write, and a negative errno ends KVM_RUN (a KvmRunError, with the page's
 * reference events).
 */
function faultinFailed(t: SimThread, vcpu: KvmVcpu, f: KvmPageFault): number {
  const r = f.faultinRet;
  if (r === RET_PF_RETRY) vcpu.kvm.stats.faultRetries++;
  else if (r === RET_PF_EMULATE) kvmEmulateMmio(vcpu);
  else {
    // The host pfn behind the gfn, for the report (the fault's own result is an error pfn).
    const pfn = f.slot === null ? -1 : followPteLockless(vcpu.kvm.mm, gfnToHvaMemslot(f.slot, f.gfn), false);
    // KVM_RUN returns: kvm_mmu_page_fault's caller drops kvm->srcu on the way out.
    vcpu.kvm.srcu.readUnlock(t);
    throw new KvmRunError(r, f.gfn, pfn, pfn >= 0 ? vcpu.kvm.host.mem.refs.trail(pfn) : []);
  }
  return r;
}

/**
 * The rest of kvm_tdp_page_fault, once the thread is the earliest again: take mmu_lock (for read
 * with the TDP MMU, for write with the shadow MMU), drop a stale fault (is_page_fault_stale: an
 * obsolete root or an invalidation since fault-in), map, release the page (marking the folio
 * accessed, and dirty when mapped writable) and unlock. Returns the RET_PF_*.
 */
export function kvmTdpPageFaultMap(t: SimThread, vcpu: KvmVcpu, f: KvmPageFault): number {
  const kvm = vcpu.kvm;
  const mmu = kvm.mmu;
  const root = vcpu.root!;
  const fp = f.hostPfn;
  const gfn = f.gfn;
  if (f.faultinRet !== RET_PF_CONTINUE) return faultinFailed(t, vcpu, f);
  const shared = mmu.faultLockShared;
  if (shared) kvm.mmuLock.readLock(t);
  else kvm.mmuLock.writeLock(t);
  let r: number;
  // is_page_fault_stale: only a fault with a slot can be made stale by an invalidation.
  if (mmu.isObsoleteRoot(root) || (f.slot !== null && kvm.mmuInvalidateRetryGfn(f.mmuSeq, gfn)))
    r = RET_PF_RETRY;
  else if (f.slot === null) r = mmu.map(t, root, f);
  else {
    // kvm_mmu_hugepage_adjust: map at the host level, with the pfn aligned down to it.
    f.goalLevel = kvmMmuHugepageAdjust(t, kvm, f.slot!, gfn, fp.pfn, f, fp.level);
    f.mapWritable = fp.writable;
    f.refcounted = fp.refcountedPage !== NO_PAGE;
    r = mmu.map(t, root, f);
    if (r === RET_PF_FIXED || r === RET_PF_WRITE_PROTECTED) kvm.faultin.spteLevels[f.goalLevel]++;
  }
  kvmReleaseFaultinPage(t, kvm, fp.refcountedPage, r === RET_PF_RETRY, fp.writable);
  if (shared) kvm.mmuLock.readUnlock(t);
  else kvm.mmuLock.writeUnlock(t);
  if (r === RET_PF_RETRY) kvm.stats.faultRetries++;
  else if (r === RET_PF_SPURIOUS) kvm.stats.faultsSpurious++;
  else if (r === RET_PF_EMULATE) kvmEmulateMmio(vcpu);
  else kvm.stats.faultsFixed++;
  return r;
}
