/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: its output lines; vm_guest_mode_string of lib/kvm_util.c. */
import type { AccessTrackingOptions } from './options.ts';
import type { AccessTrackingResult } from './run.ts';

/** vm_guest_mode_string(VM_MODE_PXXV48_4K). */
export const GUEST_MODE = 'PA-bits:ANY, VA-bits:48,  4K pages';

/** "%ld.%09lds" of a duration in ns. */
export function formatSeconds(ns: number): string {
  const s = Math.floor(ns / 1e9);
  return `${s}.${String(ns - s * 1e9).padStart(9, '0')}s`;
}

/**
 * The comment lines mmulab prints before the selftest's own output: what produced the numbers.
 * They depend on the options and profile only, so they can be printed before the run starts.
 */
export function formatAccessTrackingHeader(o: AccessTrackingOptions, profile: string): string {
  return [
    '# mmulab access-tracking: the KVM selftest access_tracking_perf_test, simulated',
    `# profile ${profile}, seed ${o.seed}, kernel ${o.kernel}, ${o.vcpus} vCPU(s) x ${o.vcpuBytes} bytes, ${o.backing}, KVM aging ${o.aging}, EPT A/D ${o.eptAd ? 'on' : 'off'}`,
    '# all times are simulated seconds',
    '',
  ].join('\n');
}

/**
 * The run as the selftest prints it to stdout, after the header. A failed assertion is not part of
 * it: the selftest writes that to stderr (formatTestAssertion).
 */
export function formatAccessTracking(r: AccessTrackingResult): string {
  return `${formatAccessTrackingHeader(r.options, r.profile)}${r.stdout.join('\n')}\n`;
}
