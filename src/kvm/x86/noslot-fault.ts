/**
 * The no-slot fault of x86 (arch/x86/kvm/mmu/mmu.c: kvm_handle_noslot_fault; tdp_mmu.c: the
 * make_mmio_spte branch of tdp_mmu_map_handle_target_level) and the MMIO exit that follows
 * (x86_emulate_instruction of arch/x86/kvm/x86.c, reduced to KVM_EXIT_MMIO).
 */

import type { SimThread } from '../../sim/thread.ts';
import { cmpxchg64 } from '../../sync/atomic64.ts';
import { NO_PAGE } from '../hva-to-pfn.ts';
import { KVM_PFN_NOSLOT } from '../kvm-pfn.ts';
import type { KvmVcpu } from '../vcpu.ts';
import { vcpuCacheMmioInfo } from './mmio-cache.ts';
import { makeMmioSpte } from './mmio-spte.ts';
import type { KvmPageFault } from './mmu.ts';
import type { TdpMmu } from './tdp-mmu/tdp-mmu.ts';

/** ACC_ALL: exec, write, user. */
const ACC_ALL = 0x7;

/**
 * kvm_handle_noslot_fault for a TDP fault (gva 0): caches the MMIO info in the vCPU and makes the
 * fault a no-slot one (pfn KVM_PFN_NOSLOT, no page to release, not writable, 4K); the map then
 * installs an MMIO SPTE.
 */
export function kvmHandleNoslotFault(vcpu: KvmVcpu, f: KvmPageFault): void {
  vcpuCacheMmioInfo(vcpu, 0, f.gfn, ACC_ALL & vcpu.kvm.mmioGen.layout.accessMask);
  f.slot = null;
  f.pfn = KVM_PFN_NOSLOT;
  f.hostPfn.pfn = KVM_PFN_NOSLOT;
  f.hostPfn.writable = false;
  f.hostPfn.refcountedPage = NO_PAGE;
  f.mapWritable = false;
  f.goalLevel = 1;
}

/**
 * The no-slot branch of tdp_mmu_map_handle_target_level (caller holds mmu_lock for read): builds
 * make_mmio_spte(vcpu, gfn, ACC_ALL) with the generation of the root's address space and installs
 * it with cmpxchg. Returns false if the cmpxchg lost (RET_PF_RETRY); true when the SPTE is in place
 * (RET_PF_EMULATE, also when it already was: new == old is spurious but still MMIO).
 */
export function tdpMmuSetMmioSpte(
  t: SimThread,
  mmu: TdpMmu,
  idx: number,
  oldLo: number,
  oldHi: number,
  gfn: number,
  asId: number,
): boolean {
  const kvm = mmu.kvm;
  const mg = kvm.mmioGen;
  const s = { lo: 0, hi: 0 };
  makeMmioSpte(s, mg.layout, kvm.memslots(asId).generation, gfn, ACC_ALL);
  if (s.lo === oldLo && s.hi === oldHi) return true;
  t.advance(kvm.engine.profile.spteInstallNs);
  if (!cmpxchg64(mmu.pool.lo, mmu.pool.hi, idx, oldLo, oldHi, s.lo, s.hi)) return false;
  mg.stats.mmioSptesCreated++;
  return true;
}

/**
 * x86_emulate_instruction for an MMIO access: the emulator finds no memory behind the gpa and
 * exits to the VMM (KVM_EXIT_MMIO), which completes the access. The VMM's time is not modelled.
 */
export function kvmEmulateMmio(vcpu: KvmVcpu): void {
  vcpu.mmio.mmioNeeded = true;
  vcpu.kvm.mmioGen.stats.mmioExits++;
}
