/**
 * A guest access that may hit emulated MMIO: the CPU's EPT walk as in memstress.ts, plus the EPT
 * misconfiguration an MMIO SPTE raises (handle_ept_misconfig, arch/x86/kvm/vmx/vmx.c). An access
 * ends either in RAM (the leaf allows it) or in emulation (KVM_EXIT_MMIO: the VMM completes it).
 */
import { handleEptViolation, type KvmVcpu } from '../kvm/vcpu.ts';
import { handleEptMisconfig } from '../kvm/x86/mmio-fault.ts';
import type { SimThread } from '../sim/thread.ts';
import { ACCESS_DONE, cpuAccess, EPT_MISCONFIG, VIOLATION_PRESENT } from './memstress.ts';

/** How a guest access ended. */
export type GuestAccessResult = 'ram' | 'mmio';

/**
 * One guest access to `gfn`: an MMIO SPTE exits as an EPT misconfiguration, a missing or
 * insufficient SPTE as an EPT violation; it loops until the access reaches RAM or is emulated.
 */
export function* guestMmioAccess(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  value = 0,
): Generator<void, GuestAccessResult, void> {
  for (;;) {
    if (t.now > t.limit) yield;
    const r = cpuAccess(t, vcpu, gfn, write, value);
    if (r === ACCESS_DONE) return 'ram';
    if (r === EPT_MISCONFIG) yield* handleEptMisconfig(t, vcpu, gfn);
    else yield* handleEptViolation(t, vcpu, gfn, write, r === VIOLATION_PRESENT);
    if (vcpu.mmio.mmioNeeded) {
      vcpu.mmio.mmioNeeded = false;
      return 'mmio';
    }
  }
}
