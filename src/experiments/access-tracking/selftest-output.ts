/**
 * Models tools/testing/selftests/kvm/lib/kvm_util.c's vm_guest_mode_string and the selftests'
 * "%ld.%09lds" of a timespec: how the KVM selftests print, for every experiment that reproduces them.
 */
/** vm_guest_mode_string(VM_MODE_PXXV48_4K). */
export const GUEST_MODE = 'PA-bits:ANY, VA-bits:48,  4K pages';

/** "%ld.%09lds" of a duration in ns. */
export function formatSeconds(ns: number): string {
  const s = Math.floor(ns / 1e9);
  return `${s}.${String(ns - s * 1e9).padStart(9, '0')}s`;
}
