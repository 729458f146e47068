/**
 * Test support: direct_page_fault of arch/x86/kvm/mmu/mmu.c for the shadow MMU, run straight on a
 * `ShadowMmu` a test made beside the VM's own MMU (no vCPU, no KVM_RUN), and a leaf lookup.
 */
import { FOLL_WRITE } from '../host/gup.ts';
import { kvmFaultinPfn } from '../kvm/follow-pfn.ts';
import { NO_PAGE } from '../kvm/hva-to-pfn.ts';
import { kvmReleaseFaultinPage } from '../kvm/release-page.ts';
import { kvmMmuHugepageAdjust } from '../kvm/x86/host-pfn-mapping-level.ts';
import type { KvmMmuPage } from '../kvm/x86/shadow-mmu/mmu-page.ts';
import type { ShadowMmu } from '../kvm/x86/shadow-mmu/shadow-mmu.ts';
import type { SimThread } from '../sim/thread.ts';

/**
 * direct_page_fault: fault the pfn in (__kvm_faultin_pfn), take mmu_lock for write,
 * kvm_mmu_hugepage_adjust, direct_map, unlock. Returns the RET_PF_*.
 */
export function shadowFault(
  t: SimThread,
  mmu: ShadowMmu,
  root: KvmMmuPage,
  gfn: number,
  write: boolean,
): number {
  const kvm = mmu.kvm;
  const slot = kvm.memslots(root.asId).gfnToMemslot(gfn);
  if (slot === null) throw new Error(`gfn 0x${gfn.toString(16)} has no memslot`);
  const fp = { pfn: 0, writable: false, refcountedPage: NO_PAGE, level: 0 };
  kvmFaultinPfn(t, kvm, slot, gfn, write ? FOLL_WRITE : 0, fp);
  kvm.mmuLock.writeLock(t);
  const aligned = { pfn: 0 };
  const goalLevel = kvmMmuHugepageAdjust(t, kvm, slot, gfn, fp.pfn, aligned);
  const r = mmu.map(t, root, { gfn, pfn: aligned.pfn, goalLevel, write, mapWritable: fp.writable });
  kvmReleaseFaultinPage(t, kvm, fp.refcountedPage, false, fp.writable);
  kvm.mmuLock.writeUnlock(t);
  return r;
}

/** The SPTE where a walk from `root` towards `gfn` stops: its index and its two words. */
export function shadowLeaf(
  mmu: ShadowMmu,
  root: KvmMmuPage,
  gfn: number,
): { sptep: number; lo: number; hi: number } {
  const sptep = mmu.pool.walk(root.spt, gfn);
  return { sptep, lo: mmu.pool.lo[sptep], hi: mmu.pool.hi.get(sptep) };
}
