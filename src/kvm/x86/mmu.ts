import { hostLeafLevel, waitForPteTable } from '../../host/gup.ts';
import { PG_DIRTY, PG_IDLE, PG_REFERENCED, PG_TAIL } from '../../host/page-flags.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type FollowPfn, kvmFollowPfn } from '../follow-pfn.ts';
import type { Kvm } from '../kvm.ts';
import { gfnToHvaMemslot, type KvmMemorySlot } from '../memslots.ts';
import type { KvmVcpu } from '../vcpu.ts';
import {
  RET_PF_FIXED,
  RET_PF_INVALID,
  RET_PF_RETRY,
  RET_PF_SPURIOUS,
  type TdpFault,
} from './tdp-mmu/tdp-mmu.ts';

type Gen<R> = Generator<void, R, void>;

/**
 * __kvm_mmu_max_mapping_level for a shared gfn: the host mapping level (host_pfn_mapping_level),
 * capped where a huge page would cross the memslot's edges (lpage_info disallow_lpage).
 */
export function kvmMmuMaxMappingLevel(kvm: Kvm, slot: KvmMemorySlot, gfn: number): number {
  let level = hostLeafLevel(kvm.mm, gfnToHvaMemslot(slot, gfn));
  if (level > 2) level = 2;
  while (level > 1) {
    const span = level === 2 ? 512 : 262144;
    const base = Math.floor(gfn / span) * span;
    const hvaAligned = (slot.userspaceAddr / 4096 - slot.baseGfn) % span === 0;
    if (base >= slot.baseGfn && base + span <= slot.baseGfn + slot.npages && hvaAligned) break;
    level--;
  }
  return level;
}

/**
 * kvm_tdp_mmu_page_fault (arch/x86/kvm/mmu/mmu.c) for an EPT violation on `gfn`:
 * fast_page_fault first when it can help (A/D off, or a write to a present SPTE); then snapshot
 * mmu_invalidate_seq, fault the pfn in, take mmu_lock for read, drop a stale fault
 * (is_page_fault_stale), map, release the page (marking the folio accessed, and dirty when mapped
 * writable) and unlock. The caller holds kvm->srcu. Between fault-in and mmu_lock other threads run
 * (a sync point), so an invalidation can make the fault stale there, as in the kernel.
 */
export function* kvmTdpMmuPageFault(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  present: boolean,
): Gen<number> {
  const kvm = vcpu.kvm;
  const p = kvm.engine.profile;
  const mmu = kvm.mmu;
  const root = vcpu.root!;
  t.advance(t.jittered(p.kvmFaultEntryNs));
  if (present ? write : !mmu.adEnabled) {
    const r = mmu.fastPageFault(t, root, gfn, write);
    if (r !== RET_PF_INVALID) {
      if (r === RET_PF_FIXED) kvm.stats.fastPageFaults++;
      else kvm.stats.faultsSpurious++;
      return r;
    }
  }
  const slot = kvm.memslots(root.asId).gfnToMemslot(gfn);
  if (slot === null) throw new Error(`gfn 0x${gfn.toString(16)} has no memslot (MMIO is not modelled yet)`);
  const seq = kvm.mmuInvalidateSeq;
  if (kvm.mmuInvalidateRetryGfnUnsafe(seq, gfn)) {
    kvm.stats.faultRetries++;
    return RET_PF_RETRY;
  }
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
  // A host fault in kvm_follow_pfn locks the PTE table (do_anonymous_page): spin while an aging
  // walker holds it.
  if (kvm.mm.ptl.anyBusy(t)) yield* waitForPteTable(t, kvm.mm, gfnToHvaMemslot(slot, gfn), write);
  const fp: FollowPfn = { pfn: 0, writable: false };
  kvmFollowPfn(t, kvm, slot, gfn, write, fp);
  if (fp.pfn < 0) throw new Error(`kvm_follow_pfn failed for gfn 0x${gfn.toString(16)} (${fp.pfn})`);
  if (t.mustSync()) yield;
  kvm.mmuLock.readLock(t);
  let r: number;
  if (kvm.mmuInvalidateRetryGfn(seq, gfn)) r = RET_PF_RETRY;
  else {
    // kvm_mmu_hugepage_adjust: map at the host level, with the pfn aligned down to it.
    const goal = kvmMmuMaxMappingLevel(kvm, slot, gfn);
    const pfn = goal > 1 ? fp.pfn - (gfn % 512) : fp.pfn;
    const fault: TdpFault = { gfn, pfn, goalLevel: goal, write, mapWritable: fp.writable };
    r = mmu.map(t, root, fault);
  }
  if (r !== RET_PF_RETRY) kvmReleaseFaultinPage(t, kvm, fp.pfn, fp.writable);
  kvm.mmuLock.readUnlock(t);
  if (r === RET_PF_RETRY) kvm.stats.faultRetries++;
  else if (r === RET_PF_SPURIOUS) kvm.stats.faultsSpurious++;
  else kvm.stats.faultsFixed++;
  return r;
}

/**
 * kvm_release_faultin_page with unused = false: kvm_release_page_dirty/clean mark the folio
 * accessed (folio_mark_accessed clears PG_idle) and, when mapped writable, dirty.
 */
function kvmReleaseFaultinPage(t: SimThread, kvm: Kvm, pfn: number, dirty: boolean): void {
  const mem = kvm.host.mem;
  if (pfn === mem.zeroPfn) return;
  t.advance(kvm.engine.profile.releaseFaultinNs);
  const head = mem.flags[pfn] & PG_TAIL ? pfn - (pfn % 512) : pfn;
  mem.flags[head] = (mem.flags[head] & ~PG_IDLE) | PG_REFERENCED | (dirty ? PG_DIRTY : 0);
}
