import type { AccessTrackingResult } from './run.ts';

/** vm_guest_mode_string(VM_MODE_PXXV48_4K). */
export const GUEST_MODE = 'PA-bits:ANY, VA-bits:48,  4K pages';

/** "%ld.%09lds" of a duration in ns. */
export function formatSeconds(ns: number): string {
  const s = Math.floor(ns / 1e9);
  return `${s}.${String(ns - s * 1e9).padStart(9, '0')}s`;
}

/** The run as the selftest prints it, after a header that says what produced the numbers. */
export function formatAccessTracking(r: AccessTrackingResult): string {
  const o = r.options;
  const lines = [
    `# mmulab access-tracking: the KVM selftest access_tracking_perf_test (${r.mode} mode), simulated`,
    `# profile ${r.profile}, seed ${r.seed}, kernel ${o.kernel}, ${o.vcpus} vCPU(s) x ${o.vcpuBytes} bytes, ${o.backing}, KVM aging ${o.aging}, EPT A/D ${o.eptAd ? 'on' : 'off'}`,
    '# all times are simulated seconds',
    ...r.stdout,
  ];
  if (r.failure !== null)
    lines.push('==== Test Assertion Failure ====', `  access_tracking_perf_test.c: ${r.failure}`);
  return `${lines.join('\n')}\n`;
}
