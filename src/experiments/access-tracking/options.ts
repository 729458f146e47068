/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: its command-line options, validated up front. */
import { z } from 'zod';
import { NUMA_BALANCING_DEFAULTS } from '../../host/numa-balancing.ts';
import { BACKING_KINDS } from '../../host/vma.ts';
import { AD_POLICIES, adPolicy } from '../../kvm/ad-policy.ts';
import type { AgingLock } from '../../kvm/kvm.ts';
import { UserError } from '../../sim/user-error.ts';
import { DEFAULT_KERNEL, KERNEL_VARIANTS, kernelVariant } from '../../variants/kernel-variant.ts';

/** The x86 MMUs a VM can use (`--mmu`). */
export const X86_MMUS = ['tdp', 'shadow'] as const;

/** KVM_MAX_VCPUS on x86. */
export const KVM_MAX_VCPUS = 4096;

/** Options of `runAccessTracking`, validated up front. */
export const accessTrackingOptionsSchema = z.object({
  /** -v: vCPUs. */
  vcpus: z.number().int().min(1, 'vcpus must be at least 1').max(KVM_MAX_VCPUS),
  /** -b: guest memory per vCPU, bytes. */
  vcpuBytes: z
    .number()
    .int()
    .positive('vcpuBytes must be positive')
    .refine((b) => b % 4096 === 0, 'vcpuBytes must be a multiple of the 4 KiB page size'),
  /** -o: all vCPUs share one region. */
  overlap: z.boolean().default(false),
  /** -s: backing source. */
  backing: z.enum(BACKING_KINDS as [string, ...string[]]).default('anonymous'),
  /** Guest touches pages in random order (memstress random_access; the selftest never sets it). */
  randomAccess: z.boolean().default(false),
  /** -l: age with MGLRU through debugfs lru_gen instead of page_idle. */
  lruGen: z.boolean().default(false),
  /** -p: benchmark MGLRU aging passes while the vCPUs fault memory in (implies -l). */
  benchmark: z.boolean().default(false),
  /** With -p: run the aging passes (false measures the vCPUs alone, the "no aging" row). */
  benchmarkAging: z.boolean().default(true),
  /**
   * -w: warn instead of failing the idle-page checks (idle_pages_warn_only). Unset: the test's auto
   * mode (access_tracking_unreliable), which warns only when NUMA balancing is enabled.
   */
  warnOnly: z.boolean().optional(),
  /**
   * /proc/sys/kernel/numa_balancing. Unset: the kernel's boot default with
   * CONFIG_NUMA_BALANCING_DEFAULT_ENABLED=y (mm/mempolicy.c check_numabalancing_enable): enabled
   * when the host has more than one NUMA node, and the test reads it so. The scanner, hinting faults
   * and migrations are simulated only when it is given as true (so default runs stay as they were):
   * then the vCPU threads also move to the next node after populating, so their memory is remote.
   */
  numaBalancing: z.boolean().optional(),
  /**
   * The numa_balancing sysctls (scan_delay_ms, scan_period_min_ms, scan_period_max_ms,
   * scan_size_mb), used when NUMA balancing is simulated (numaBalancing given as true).
   */
  /** With NUMA balancing simulated: move the vCPU threads to the next node after populating. */
  numaMoveVcpus: z.boolean().default(true),
  numaScanDelayMs: z.number().int().min(0).max(3_600_000).default(NUMA_BALANCING_DEFAULTS.scanDelayMs),
  numaScanPeriodMinMs: z
    .number()
    .int()
    .min(1)
    .max(3_600_000)
    .default(NUMA_BALANCING_DEFAULTS.scanPeriodMinMs),
  numaScanPeriodMaxMs: z
    .number()
    .int()
    .min(1)
    .max(3_600_000)
    .default(NUMA_BALANCING_DEFAULTS.scanPeriodMaxMs),
  numaScanSizeMb: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(NUMA_BALANCING_DEFAULTS.scanSizeMb),
  /**
   * The accessed/dirty policy whose accessedOnZap decides what a zapped accessed SPTE does
   * (src/kvm/ad-policy.ts). Unset: the kernel's (6.13), and nothing is recorded unless NUMA
   * balancing is simulated.
   */
  adPolicy: z
    .string()
    .optional()
    .refine((k) => k === undefined || adPolicy(k) !== undefined, {
      message: `unknown policy (known: ${AD_POLICIES.map((p) => p.name).join(', ')})`,
    }),
  /**
   * Whose output conventions -p follows: mainline's lines, or the posted v4 series of seed 003
   * ("Created memcg at <path>", "Populating memory (async)").
   */
  selftestVersion: z.enum(['mainline', 'v4-series']).default('mainline'),
  /** --kernel: the kernel variant simulated (src/variants). */
  kernel: z
    .string()
    .default(DEFAULT_KERNEL)
    .refine((k) => kernelVariant(k) !== undefined, {
      message: `unknown kernel (known: ${KERNEL_VARIANTS.map((v) => v.name).join(', ')})`,
    }),
  /** --aging: how KVM ages, overriding the kernel's (write-lock before 6.15, lockless from 6.15). */
  aging: z.enum(['write-lock', 'lockless']).optional(),
  /** EPT A/D bits (off: access tracking by clearing RWX). */
  eptAd: z.boolean().default(true),
  /** --mmu: the x86 MMU, TDP (kvm.tdp_mmu=1) or shadow (kvm.tdp_mmu=0). */
  mmu: z.enum(X86_MMUS).default('tdp'),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  /** Host CPUs (default: the profile's). */
  hostCpus: z.number().int().min(1).max(4096).optional(),
  /**
   * Host RAM, bytes (default: what the run needs plus headroom). Given, kswapd runs and memory can
   * run short: global reclaim, direct reclaim, and min_ttl's OOM kill. Needs -l (MGLRU).
   */
  hostMemoryBytes: z
    .number()
    .int()
    .positive('hostMemoryBytes must be positive')
    .refine((b) => b % 4096 === 0, 'hostMemoryBytes must be a multiple of the 4 KiB page size')
    .optional(),
  /** Swap device size, bytes (default: no swap). */
  swapBytes: z
    .number()
    .int()
    .min(0)
    .refine((b) => b % 4096 === 0, 'swapBytes must be a multiple of the 4 KiB page size')
    .default(0),
  /** Refuse runs whose simulated state would exceed this many bytes. */
  memoryLimitBytes: z.number().positive().optional(),
});

/** Options as the caller gives them (defaults filled in by the schema). */
export type AccessTrackingInput = z.input<typeof accessTrackingOptionsSchema>;
export type AccessTrackingOptions = z.output<typeof accessTrackingOptionsSchema> & { aging: AgingLock };

/** A bad option or a run that cannot be done; the CLI prints the message and exits 2. */
export class OptionsError extends UserError {
  override readonly code = 'MMULAB_BAD_OPTIONS';
}

/** Validates options; throws OptionsError naming the first bad one. */
export function parseAccessTrackingOptions(input: AccessTrackingInput): AccessTrackingOptions {
  const r = accessTrackingOptionsSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new OptionsError(`${i.path.join('.') || 'options'}: ${i.message}`);
  }
  const o = r.data;
  if (
    (o.backing === 'anonymous_thp' || o.backing === 'anonymous_hugetlb') &&
    (o.vcpus * o.vcpuBytes) % (2 << 20) !== 0
  )
    throw new OptionsError(`vcpuBytes: ${o.backing} needs guest memory in whole 2 MiB pages`);
  // The selftest's threads wait for each other in busy loops; the model keeps a spinning thread
  // on its CPU, so each needs one (a real host would time-slice them, which is not modelled).
  if (o.hostCpus !== undefined && o.hostCpus < o.vcpus + 1)
    throw new OptionsError(
      `hostCpus: the selftest's ${o.vcpus + 1} threads (main and ${o.vcpus} vCPU(s)) spin while they wait, so they need at least ${o.vcpus + 1} host CPUs`,
    );
  if (o.hostMemoryBytes !== undefined && !o.lruGen && !o.benchmark)
    throw new OptionsError('hostMemoryBytes: needs -l (global reclaim is modelled with MGLRU only)');
  if (o.swapBytes > 0 && o.hostMemoryBytes === undefined)
    throw new OptionsError(
      'swapBytes: needs hostMemoryBytes (--host-memory): without a host RAM limit nothing is reclaimed, so nothing is swapped',
    );
  if (o.numaBalancing === true) {
    if (o.backing !== 'anonymous' && o.backing !== 'shmem')
      throw new OptionsError(
        `numaBalancing: ${o.backing} is mapped by PMDs, whose NUMA hinting (change_huge_pmd) is not modelled; use anonymous or shmem`,
      );
    if (o.hostCpus !== undefined && o.hostCpus < o.vcpus + 2)
      throw new OptionsError(
        `hostCpus: with NUMA balancing the run needs ${o.vcpus + 2} host CPUs (the selftest's threads and the scanner's tick)`,
      );
    if (o.numaScanPeriodMaxMs < o.numaScanPeriodMinMs)
      throw new OptionsError('numaScanPeriodMaxMs: must not be below numaScanPeriodMinMs');
  }
  return { ...o, aging: o.aging ?? kernelVariant(o.kernel)!.kvmAging };
}
