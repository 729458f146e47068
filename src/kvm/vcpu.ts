/**
 * Models struct kvm_vcpu (include/linux/kvm_host.h) with its requests, an EPT-violation exit:
 * handle_ept_violation (arch/x86/kvm/vmx/vmx.c) → kvm_mmu_page_fault (handleEptViolation), and
 * what vcpu_enter_guest (arch/x86/kvm/x86.c) does before each VM entry (kvmEnterGuestPrepare).
 */
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import type { Kvm } from './kvm.ts';
import type { MmuRoot } from './x86/kvm-mmu.ts';
import { VcpuMmioInfo } from './x86/mmio-cache.ts';
import {
  FAULT_DONE,
  FAULT_SLOW,
  KvmPageFault,
  kvmTdpPageFaultBegin,
  kvmTdpPageFaultMap,
  kvmTdpPageFaultSlow,
} from './x86/mmu.ts';

/** KVM_REQ_TLB_FLUSH: flush this vCPU's TLB before entering (the TLB itself is not modelled). */
export const KVM_REQ_TLB_FLUSH = 1 << 0;
/** KVM_REQ_MMU_FREE_OBSOLETE_ROOTS: drop an obsolete root before entering (kvm_mmu_free_obsolete_roots). */
export const KVM_REQ_MMU_FREE_OBSOLETE_ROOTS = 1 << 1;

/** struct kvm_vcpu: its id, the host thread that runs it, its pending requests and its MMU root. */
export class KvmVcpu {
  /** The host thread running KVM_RUN for this vCPU (set when its thread starts). */
  thread: SimThread | null = null;
  /** True while in guest mode (between VM entry and exit). */
  inGuest = false;
  /** Per-vCPU cached memslot and its generation (kvm_vcpu_gfn_to_memslot). */
  lastUsedSlotGen = -1;
  /** vcpu->requests: KVM_REQ_* bits, serviced before the next VM entry. */
  requests = 0;
  /** vcpu->arch.mmu->root (null: INVALID_PAGE, loaded by kvm_mmu_reload before entry). */
  root: MmuRoot | null = null;
  /** VM exits taken. */
  exits = 0;
  /** The EPT violation being handled (reused: one at a time). */
  readonly fault = new KvmPageFault();
  /** The MMIO-info cache (vcpu->arch.mmio_*). */
  readonly mmio = new VcpuMmioInfo();

  constructor(
    readonly kvm: Kvm,
    readonly id: number,
  ) {}
}

// What the caller of `handleEptViolationStart`/`...Next` does before calling `...Next` again.
/** The violation is handled and the vCPU is back in guest mode. */
export const EPT_DONE = 0;
/** A sync point: `if (t.mustSync()) yield;`. */
export const EPT_SYNC = 1;
/** `yield* kvmTdpPageFaultSlow(t, vcpu, vcpu.fault)`. */
export const EPT_SLOW = 2;

/** `KvmPageFault.phase`: what `handleEptViolationNext` does next. */
const AFTER_EXIT = 0;
const AFTER_SLOW = 1;
const BEFORE_LOCK = 2;

/**
 * An EPT violation taken in guest mode: VM exit, kvm->srcu held while the fault is handled
 * (kvm_mmu_page_fault), VM entry. The vCPU thread is in kernel mode in between.
 */
export function* handleEptViolation(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  present: boolean,
): Generator<void, void, void> {
  for (let s = handleEptViolationStart(t, vcpu, gfn, write, present); s !== EPT_DONE; ) {
    if (s === EPT_SLOW) yield* kvmTdpPageFaultSlow(t, vcpu, vcpu.fault);
    else if (t.mustSync()) yield;
    s = handleEptViolationNext(t, vcpu);
  }
}

/**
 * `handleEptViolation` as plain steps, for a hot guest loop that would otherwise create two
 * generators per fault and resume them through `yield*` at each sync point: the VM exit. Returns
 * EPT_SYNC; the caller then calls `handleEptViolationNext` until it returns EPT_DONE, doing what
 * each result says in between (the loop in `handleEptViolation`).
 */
export function handleEptViolationStart(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  present: boolean,
): number {
  const kvm = vcpu.kvm;
  vcpu.inGuest = false;
  t.exitGuest();
  vcpu.exits++;
  kvm.stats.eptViolations++;
  const tr = kvm.engine.trace;
  if (tr !== null) tr.emit(t, 'ept_violation_begin', { gfn, write });
  t.advanceAs(CAT.vmExit, t.jittered(kvm.engine.profile.vmExitNs));
  t.ctx = CAT.kvmFault;
  const f = vcpu.fault;
  f.gfn = gfn;
  f.write = write;
  f.present = present;
  f.phase = AFTER_EXIT;
  return EPT_SYNC;
}

/** The next step of `handleEptViolation` (see `handleEptViolationStart`). */
export function handleEptViolationNext(t: SimThread, vcpu: KvmVcpu): number {
  const kvm = vcpu.kvm;
  const f = vcpu.fault;
  if (f.phase === AFTER_EXIT) {
    kvm.srcu.readLock(t);
    const s = kvmTdpPageFaultBegin(t, vcpu, f);
    if (s !== FAULT_DONE) {
      f.phase = s === FAULT_SLOW ? AFTER_SLOW : BEFORE_LOCK;
      return s === FAULT_SLOW ? EPT_SLOW : EPT_SYNC;
    }
  } else if (f.phase === AFTER_SLOW) {
    f.phase = BEFORE_LOCK;
    return EPT_SYNC;
  } else kvmTdpPageFaultMap(t, vcpu, f);
  kvm.srcu.readUnlock(t);
  t.ctx = CAT.other;
  kvmEnterGuestPrepare(t, vcpu);
  t.advanceAs(CAT.vmExit, t.jittered(kvm.engine.profile.vmEntryNs));
  const tr = kvm.engine.trace;
  if (tr !== null) tr.emit(t, 'ept_violation_end', { gfn: f.gfn });
  vcpu.inGuest = true;
  t.enterGuest();
  return EPT_DONE;
}

/**
 * An IPI (kvm_make_all_cpus_request) received in guest mode: the exit and re-entry it cost, and
 * the requests it carried, serviced in between.
 */
export function takeKick(t: SimThread, vcpu: KvmVcpu): void {
  t.advanceAs(CAT.vmExit, t.pendingKickNs);
  t.pendingKickNs = 0;
  vcpu.exits++;
  kvmEnterGuestPrepare(t, vcpu);
}

/**
 * vcpu_enter_guest before VM entry: service the pending requests (kvm_mmu_free_obsolete_roots for
 * KVM_REQ_MMU_FREE_OBSOLETE_ROOTS; a TLB flush costs nothing here), then kvm_mmu_reload: load a
 * root if the vCPU has none.
 */
export function kvmEnterGuestPrepare(t: SimThread, vcpu: KvmVcpu): void {
  const mmu = vcpu.kvm.mmu;
  if (vcpu.requests !== 0) {
    const root = vcpu.root;
    if (vcpu.requests & KVM_REQ_MMU_FREE_OBSOLETE_ROOTS && root !== null && mmu.isObsoleteRoot(root)) {
      vcpu.root = null;
      mmu.putRoot(t, root);
    }
    vcpu.requests = 0;
  }
  if (vcpu.root === null) vcpu.root = mmu.allocRoot(0);
}
