/**
 * Models the end of KVM_RUN with an error (arch/x86/kvm/x86.c: vcpu_run returning a negative errno
 * to the ioctl; the VMM then stops, as QEMU does with "kvm run failed Bad address").
 */
import type { RefEvent } from '../host/page-ref.ts';

/**
 * KVM_RUN returned a negative errno (kvm_handle_error_pfn's -EFAULT, for example) on a fault at
 * `gfn`. The run ends there: the CLI reports it as a failed run (exit 1), an experiment as the
 * result of its scenario. `trail` holds the reference events on the page involved, if any.
 */
export class KvmRunError extends Error {
  readonly code = 'MMULAB_KVM_RUN_ERROR';
  constructor(
    readonly errno: number,
    readonly gfn: number,
    readonly hostPfn: number,
    readonly trail: RefEvent[],
  ) {
    const events = trail.map((e) => `${e.op} (refcount ${e.count})`).join(', ');
    super(
      `KVM_RUN returned ${errno} (kvm_handle_error_pfn for gfn 0x${gfn.toString(16)}` +
        (hostPfn >= 0 ? `, host pfn 0x${hostPfn.toString(16)}` : '') +
        `)${events === '' ? '' : `; page events: ${events}`}`,
    );
  }
}
