/**
 * MMIO faults on x86 with TDP (arch/x86/kvm/mmu/mmu.c: handle_mmio_page_fault, the PFERR_RSVD_MASK
 * branch of kvm_mmu_page_fault; arch/x86/kvm/vmx/vmx.c: handle_ept_misconfig). The no-slot fault
 * that installs MMIO SPTEs is in noslot-fault.ts.
 *
 * A guest access to a gfn without a memslot first takes an EPT violation; the fault path finds no
 * slot, caches the MMIO info in the vCPU and installs an MMIO SPTE carrying the memslot generation,
 * and the access is emulated. Later accesses hit the MMIO SPTE, which the CPU reports as an EPT
 * misconfiguration: handle_mmio_page_fault emulates at once if the vCPU's cache or the SPTE's
 * generation is current, and otherwise (RET_PF_INVALID) sends the fault down the normal path,
 * which maps RAM if a memslot now covers the gfn or rebuilds the MMIO SPTE.
 */
import { CAT } from '../../sim/accounting.ts';
import type { SimThread } from '../../sim/thread.ts';
import { memslotGenUpdateInProgress } from '../memslot-generation.ts';
import { type KvmVcpu, kvmEnterGuestPrepare } from '../vcpu.ts';
import { RET_PF_EMULATE, RET_PF_INVALID, RET_PF_RETRY } from './kvm-mmu.ts';
import { mmioInfoInCache, vcpuCacheMmioInfo } from './mmio-cache.ts';
import { checkMmioSpte, getMmioSpteAccess, getMmioSpteGfn } from './mmio-spte.ts';
import {
  FAULT_DONE,
  FAULT_SLOW,
  kvmTdpPageFaultBegin,
  kvmTdpPageFaultMap,
  kvmTdpPageFaultSlow,
} from './mmu.ts';
import { kvmEmulateMmio } from './noslot-fault.ts';
import type { Spte } from './spte.ts';

/**
 * handle_mmio_page_fault (direct MMU): the vCPU's MMIO cache first; else get_mmio_spte, a lockless
 * walk through the VM's MMU (X86Mmu.getMmioSpte): an MMIO SPTE of the current generation is cached
 * and emulated, a stale one is RET_PF_INVALID, anything else (zapped meanwhile) RET_PF_RETRY.
 */
export function handleMmioPageFault(t: SimThread, vcpu: KvmVcpu, gfn: number): number {
  const kvm = vcpu.kvm;
  const mg = kvm.mmioGen;
  if (mmioInfoInCache(vcpu, gfn)) {
    mg.stats.mmioCacheHits++;
    mg.stats.mmioFaultsEmulated++;
    return RET_PF_EMULATE;
  }
  const root = vcpu.root!;
  const spte: Spte = { lo: 0, hi: 0 };
  if (!kvm.mmu.getMmioSpte(t, root, gfn, spte)) {
    mg.stats.mmioFaultsRetried++;
    return RET_PF_RETRY;
  }
  const { lo, hi } = spte;
  const gen = kvm.memslots(root.asId).generation;
  if (!checkMmioSpte(mg.layout, gen, memslotGenUpdateInProgress(gen, mg.protocol), lo, hi)) {
    mg.stats.mmioFaultsInvalid++;
    return RET_PF_INVALID;
  }
  vcpuCacheMmioInfo(vcpu, 0, getMmioSpteGfn(lo, hi), getMmioSpteAccess(mg.layout, lo));
  mg.stats.mmioFaultsEmulated++;
  return RET_PF_EMULATE;
}

/**
 * handle_ept_misconfig → kvm_mmu_page_fault(gpa, PFERR_RSVD_MASK): VM exit, kvm->srcu held,
 * handle_mmio_page_fault; RET_PF_INVALID goes to the normal fault path (kvm_mmu_do_page_fault, a
 * read fault: the error code has only RSVD) whose RET_PF_EMULATE also emulates; RET_PF_RETRY
 * re-enters the guest, after the requests and root reload of vcpu_enter_guest. Returns the final
 * RET_PF_*.
 */
export function* handleEptMisconfig(t: SimThread, vcpu: KvmVcpu, gfn: number): Generator<void, number, void> {
  const kvm = vcpu.kvm;
  const p = kvm.engine.profile;
  vcpu.inGuest = false;
  t.exitGuest();
  vcpu.exits++;
  t.advanceAs(CAT.vmExit, t.jittered(p.vmExitNs));
  t.ctx = CAT.kvmFault;
  kvm.srcu.readLock(t);
  let r = handleMmioPageFault(t, vcpu, gfn);
  if (r === RET_PF_EMULATE) kvmEmulateMmio(vcpu);
  else if (r === RET_PF_INVALID) r = yield* kvmMmuDoPageFault(t, vcpu, gfn);
  kvm.srcu.readUnlock(t);
  t.ctx = CAT.other;
  kvmEnterGuestPrepare(t, vcpu);
  t.advanceAs(CAT.vmExit, t.jittered(p.vmEntryNs));
  vcpu.inGuest = true;
  t.enterGuest();
  return r;
}

/** kvm_mmu_do_page_fault → kvm_tdp_page_fault for a read (the caller holds kvm->srcu). */
function* kvmMmuDoPageFault(t: SimThread, vcpu: KvmVcpu, gfn: number): Generator<void, number, void> {
  const f = vcpu.fault;
  f.gfn = gfn;
  f.write = false;
  f.present = false;
  const s = kvmTdpPageFaultBegin(t, vcpu, f);
  if (s === FAULT_DONE) return RET_PF_RETRY;
  if (s === FAULT_SLOW) yield* kvmTdpPageFaultSlow(t, vcpu, f);
  if (t.mustSync()) yield;
  return kvmTdpPageFaultMap(t, vcpu, f);
}
