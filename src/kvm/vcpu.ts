import type { SimThread } from '../sim/thread.ts';
import type { Kvm } from './kvm.ts';
import { kvmTdpMmuPageFault } from './x86/mmu.ts';
import type { TdpRoot } from './x86/tdp-mmu/tdp-mmu.ts';

/** struct kvm_vcpu: its id, the host thread that runs it and its TDP root. */
export class KvmVcpu {
  /** The host thread running KVM_RUN for this vCPU (set when its thread starts). */
  thread: SimThread | null = null;
  /** True while in guest mode (between VM entry and exit). */
  inGuest = false;
  /** Per-vCPU cached memslot and its generation (kvm_vcpu_gfn_to_memslot). */
  lastUsedSlotGen = -1;
  root: TdpRoot | null = null;
  /** VM exits taken. */
  exits = 0;

  constructor(
    readonly kvm: Kvm,
    readonly id: number,
  ) {}
}

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
  const kvm = vcpu.kvm;
  const p = kvm.engine.profile;
  vcpu.inGuest = false;
  t.exitGuest();
  vcpu.exits++;
  kvm.stats.eptViolations++;
  const tr = kvm.engine.trace;
  if (tr !== null)
    tr.emit(t.now, t.name, 'ept_violation', `gfn=0x${gfn.toString(16)} ${write ? 'write' : 'read'}`);
  t.advance(t.jittered(p.vmExitNs));
  if (t.mustSync()) yield;
  kvm.srcu.readLock(t);
  yield* kvmTdpMmuPageFault(t, vcpu, gfn, write, present);
  kvm.srcu.readUnlock(t);
  t.advance(t.jittered(p.vmEntryNs));
  vcpu.inGuest = true;
  t.enterGuest();
}

/** An IPI (remote TLB flush) received in guest mode: the exit and re-entry it cost. */
export function takeKick(t: SimThread, vcpu: KvmVcpu): void {
  t.advance(t.pendingKickNs);
  t.pendingKickNs = 0;
  vcpu.exits++;
}
