/**
 * The vCPU's MMIO-info cache of arch/x86/kvm/x86.h: vcpu_cache_mmio_info, vcpu_match_mmio_gen,
 * vcpu_match_mmio_gpa (vcpu->arch.mmio_gva/mmio_gfn/mmio_access/mmio_gen), and
 * mmio_info_in_cache of arch/x86/kvm/mmu/mmu.c. It remembers the last emulated MMIO gfn with the
 * generation of address space 0's memslots (kvm_memslots(kvm)), so any memslot update in that
 * address space makes it miss.
 */
import { memslotGenUpdateInProgress } from '../memslot-generation.ts';
import type { KvmVcpu } from '../vcpu.ts';

/** vcpu->arch's MMIO-info fields. With TDP the cached gva is always 0 (the gfn is what counts). */
export class VcpuMmioInfo {
  mmioGva = 0;
  mmioGfn = 0;
  mmioAccess = 0;
  mmioGen = 0;
  /** The emulator needs the VMM to complete an MMIO access (vcpu->mmio_needed). */
  mmioNeeded = false;
}

/**
 * vcpu_cache_mmio_info: records gfn, access and the current generation of kvm_memslots(kvm); not
 * while a memslot update is in progress ("Do not cache MMIO accesses while memslots are in flux").
 */
export function vcpuCacheMmioInfo(vcpu: KvmVcpu, gva: number, gfn: number, access: number): void {
  const kvm = vcpu.kvm;
  const gen = kvm.memslots(0).generation;
  if (memslotGenUpdateInProgress(gen, kvm.mmioGen.protocol)) return;
  const m = vcpu.mmio;
  m.mmioGva = gva - (gva % 4096);
  m.mmioAccess = access;
  m.mmioGfn = gfn;
  m.mmioGen = gen;
}

/** vcpu_match_mmio_gen: the cached generation is kvm_memslots(kvm)'s current one. */
export function vcpuMatchMmioGen(vcpu: KvmVcpu): boolean {
  return vcpu.mmio.mmioGen === vcpu.kvm.memslots(0).generation;
}

/** vcpu_match_mmio_gpa: generation matches and the cached gfn (never 0) is this one. */
export function vcpuMatchMmioGpa(vcpu: KvmVcpu, gfn: number): boolean {
  return vcpuMatchMmioGen(vcpu) && vcpu.mmio.mmioGfn !== 0 && vcpu.mmio.mmioGfn === gfn;
}

/** mmio_info_in_cache for a direct (TDP) MMU: the gpa test; nested walks are not modelled. */
export function mmioInfoInCache(vcpu: KvmVcpu, gfn: number): boolean {
  return vcpuMatchMmioGpa(vcpu, gfn);
}
