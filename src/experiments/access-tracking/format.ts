/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: its output lines. */
import type { AccessTrackingOptions } from './options.ts';
import type { AccessTrackingResult } from './run.ts';

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
