/**
 * Models arch/x86/kvm/x86.c: kvm_arch_vcpu_ioctl_run → vcpu_run → vcpu_enter_guest, for one stretch
 * of guest code that ends in an exit to userspace (a ucall such as GUEST_SYNC).
 */
import { CAT } from '../sim/accounting.ts';
import { call, type SimThread } from '../sim/thread.ts';
import { type KvmVcpu, kvmEnterGuestPrepare } from './vcpu.ts';

/**
 * KVM_RUN on thread `t`: the ioctl's entry, the requests and root load before VM entry
 * (kvmEnterGuestPrepare), the VM entry, `guest` in guest mode (its EPT violations and kicks exit and
 * re-enter on their own), and the exit back to userspace. `timed` false runs the same steps without
 * charging the ioctl, the entry or the final exit (for scenarios that only want the guest's accesses).
 */
export function* kvmArchVcpuIoctlRun(
  t: SimThread,
  vcpu: KvmVcpu,
  guest: Generator<void, void, void>,
  timed = true,
): Generator<void, void, void> {
  const p = t.engine.profile;
  vcpu.thread = t;
  if (timed) t.advanceAs(CAT.vmExit, p.kvmRunIoctlNs / 2);
  kvmEnterGuestPrepare(t, vcpu);
  if (timed) t.advanceAs(CAT.vmExit, t.jittered(p.vmEntryNs));
  vcpu.inGuest = true;
  t.enterGuest();
  yield* call(guest);
  // The exit to userspace (KVM_EXIT_IO of a ucall).
  vcpu.inGuest = false;
  t.exitGuest();
  if (timed) {
    vcpu.exits++;
    t.advanceAs(CAT.vmExit, t.jittered(p.vmExitNs) + p.kvmRunIoctlNs / 2);
  }
  if (t.mustSync()) yield;
}
