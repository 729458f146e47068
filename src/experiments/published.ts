/**
 * Published measurements mmulab is compared with (../shared/reference/published-results.md, from
 * seed 003's cover letter: `access_tracking_perf_test -p -l -b 1G -v N` on x86 with the TDP MMU,
 * THP off). Seconds of wall time on real hardware.
 */
export interface PublishedRow {
  vcpus: number;
  /** 'no aging', 'no opt' (write-locked KVM aging, Linux 6.12) or 'opt' (lockless, 6.15). */
  label: 'no aging' | 'no opt' | 'opt';
  vcpuWallS: number;
  /** Mean aging pass, null for 'no aging'. */
  agingPassS: number | null;
}

export const SEED003_BYTES_PER_VCPU = 2 ** 30;

/** Seed 003's rows for 1 to 8 vCPUs (the larger ones are held out). */
export const SEED003_ROWS: readonly PublishedRow[] = [
  { vcpus: 1, label: 'no aging', vcpuWallS: 0.878822016, agingPassS: null },
  { vcpus: 1, label: 'no opt', vcpuWallS: 0.938250568, agingPassS: 0.008236007 },
  { vcpus: 1, label: 'opt', vcpuWallS: 0.91227019, agingPassS: 0.007314582 },
  { vcpus: 2, label: 'no aging', vcpuWallS: 0.984959659, agingPassS: null },
  { vcpus: 2, label: 'no opt', vcpuWallS: 1.057880728, agingPassS: 0.017989741 },
  { vcpus: 2, label: 'opt', vcpuWallS: 1.037735641, agingPassS: 0.013996319 },
  { vcpus: 4, label: 'no aging', vcpuWallS: 1.264881581, agingPassS: null },
  { vcpus: 4, label: 'no opt', vcpuWallS: 1.318849182, agingPassS: 0.056164918 },
  { vcpus: 4, label: 'opt', vcpuWallS: 1.314653465, agingPassS: 0.029311993 },
  { vcpus: 8, label: 'no aging', vcpuWallS: 1.473883699, agingPassS: null },
  { vcpus: 8, label: 'no opt', vcpuWallS: 1.589441079, agingPassS: 0.227419586 },
  { vcpus: 8, label: 'opt', vcpuWallS: 1.49843959, agingPassS: 0.06385774 },
];
