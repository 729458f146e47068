/**
 * Models no kernel file: experiment: the small runs whose simulated times are pinned
 * (golden-times.json, `npm run golden`).
 */
import type { CostProfile } from '../sim/profile.ts';
import { KERNEL_VARIANTS } from '../variants/kernel-variant.ts';
import type { AccessTrackingInput } from './access-tracking/options.ts';
import { runAccessTracking } from './access-tracking/run.ts';
import { type PageFaultOptions, runPageFault } from './micro/page-fault.ts';

/**
 * One small run whose simulated times are pinned: the selftest (`input`) or, for the host's file
 * fault path, which no selftest run takes, `micro page-fault` (`pageFault`).
 */
export type GoldenConfig = { name: string; profile: string } & (
  | { input: AccessTrackingInput; pageFault?: undefined }
  | { pageFault: PageFaultOptions; input?: undefined }
);

const MIB = 1 << 20;

/**
 * The pinned runs: every kernel variant, page_idle and lru_gen modes, seed 003's `-p`, global
 * memory pressure with swap, 1 to 4 vCPUs, both profiles, both x86 MMUs (the shadow MMU with
 * lockless rmap aging, 6.15, and write-locked, 6.12). Small enough to run in seconds; which
 * cost terms they leave unpinned, `scripts/golden-sensitivity.ts` says (the README lists them).
 */
/** seed 003's -p with `vcpus` x `mib` MiB under a host of `hostMib` MiB with 64 MiB of swap. */
function pressure(vcpus: number, mib: number, hostMib: number, hostCpus?: number): AccessTrackingInput {
  return {
    vcpus,
    vcpuBytes: mib * MIB,
    lruGen: true,
    benchmark: true,
    hostMemoryBytes: hostMib * MIB,
    swapBytes: 64 * MIB,
    ...(hostCpus === undefined ? {} : { hostCpus }),
  };
}

/** `micro page-fault --test test` with `threads` threads of 256 KiB each, in thread mode. */
function microFile(
  name: string,
  profile: string,
  test: 'page_fault2' | 'page_fault3',
  threads: number,
): GoldenConfig {
  return { name, profile, pageFault: { test, threads, mode: 'thread', memsize: 256 * 1024 } };
}

export const GOLDEN_CONFIGS: readonly GoldenConfig[] = [
  { name: 'page_idle 1x4M', profile: 'x86-tdp', input: { vcpus: 1, vcpuBytes: 4 * MIB } },
  { name: 'page_idle 2x2M', profile: 'x86-tdp', input: { vcpus: 2, vcpuBytes: 2 * MIB } },
  {
    name: 'page_idle 2x2M no-ept-ad',
    profile: 'x86-tdp',
    input: { vcpus: 2, vcpuBytes: 2 * MIB, eptAd: false },
  },
  {
    name: 'page_idle 1x4M thp',
    profile: 'x86-tdp',
    input: { vcpus: 1, vcpuBytes: 4 * MIB, backing: 'anonymous_thp' },
  },
  { name: 'page_idle 2x2M seed003', profile: 'seed003-x86', input: { vcpus: 2, vcpuBytes: 2 * MIB } },
  ...KERNEL_VARIANTS.filter((k) => k.name !== 'pre-6.12').flatMap((k) => [
    {
      name: `lru_gen 2x2M ${k.name}`,
      profile: 'x86-tdp',
      input: { vcpus: 2, vcpuBytes: 2 * MIB, lruGen: true, kernel: k.name },
    },
    {
      name: `-p 4x2M ${k.name} seed003`,
      profile: 'seed003-x86',
      input: { vcpus: 4, vcpuBytes: 2 * MIB, lruGen: true, benchmark: true, kernel: k.name },
    },
  ]),
  {
    name: '-p 4x2M no aging seed003',
    profile: 'seed003-x86',
    input: { vcpus: 4, vcpuBytes: 2 * MIB, lruGen: true, benchmark: true, benchmarkAging: false },
  },
  {
    name: '-p 1x4M pre-6.12',
    profile: 'x86-tdp',
    input: { vcpus: 1, vcpuBytes: 4 * MIB, lruGen: true, benchmark: true, kernel: 'pre-6.12' },
  },
  { name: '-p 2x16M pressure swap 3 host CPUs', profile: 'x86-tdp', input: pressure(2, 16, 28, 3) },
  {
    name: 'page_idle 2x2M no-ept-ad seed003',
    profile: 'seed003-x86',
    input: { vcpus: 2, vcpuBytes: 2 * MIB, eptAd: false, hostCpus: 3 },
  },
  { name: '-p 2x16M pressure swap', profile: 'x86-tdp', input: pressure(2, 16, 28) },
  {
    name: '-p 2x16M pressure swap 3 host CPUs seed003',
    profile: 'seed003-x86',
    input: pressure(2, 16, 36, 3),
  },
  {
    name: 'lru_gen 2x16M pressure swap',
    profile: 'x86-tdp',
    input: { vcpus: 2, vcpuBytes: 16 * MIB, lruGen: true, hostMemoryBytes: 28 * MIB, swapBytes: 64 * MIB },
  },
  { name: '-p 4x8M pressure swap seed003', profile: 'seed003-x86', input: pressure(4, 8, 36) },
  {
    name: 'page_idle 2x2M shadow',
    profile: 'x86-tdp',
    input: { vcpus: 2, vcpuBytes: 2 * MIB, mmu: 'shadow' },
  },
  {
    name: 'lru_gen 2x2M 6.12 shadow',
    profile: 'x86-tdp',
    input: { vcpus: 2, vcpuBytes: 2 * MIB, lruGen: true, kernel: '6.12', mmu: 'shadow' },
  },
  {
    name: '-p 4x2M 6.15 seed003 shadow',
    profile: 'seed003-x86',
    input: { vcpus: 4, vcpuBytes: 2 * MIB, lruGen: true, benchmark: true, kernel: '6.15', mmu: 'shadow' },
  },
  // will-it-scale page_fault3: shared file faults (filemapFaultNs), the warm-up's reads (fileReadNs).
  microFile('micro page_fault3 2 threads x 256K', 'x86-tdp', 'page_fault3', 2),
  // bdw-2650v4's floor on contended hand-offs (cacheLineContendedNs, 0 in the two main profiles).
  microFile('micro page_fault3 4 threads x 256K bdw-2650v4', 'bdw-2650v4', 'page_fault3', 4),
  // page_fault2: the copy-on-write faults of a private file mapping.
  microFile('micro page_fault2 2 threads x 256K', 'x86-tdp', 'page_fault2', 2),
  microFile('micro page_fault3 2 threads x 256K seed003', 'seed003-x86', 'page_fault3', 2),
];

/** What is pinned of one run: every phase and benchmark time, and where each thread class's time went. */
export interface GoldenRecord {
  /** The selftest's output and the engine's steps (selftest runs only). */
  stdout?: string[];
  phases: Record<string, number>;
  benchmark: Record<string, number> | null;
  time: Record<string, Record<string, number>>;
  steps?: number;
}

/** Runs `c` (on `profile`, by default its own) and records its pinned figures. */
export function goldenRecord(c: GoldenConfig, profile: CostProfile | string = c.profile): GoldenRecord {
  if (c.pageFault !== undefined) {
    const r = runPageFault(c.pageFault, profile);
    return {
      phases: { warmedUp: r.warmedUpNs, elapsed: r.elapsedNs },
      benchmark: { pagesPerSec: r.pagesPerSec, faults: r.faults, tlbFlushes: r.tlbFlushes },
      time: Object.fromEntries(
        r.time.classes.map((k) => [k.class, { elapsed: k.elapsedNs, ...k.categories }]),
      ),
    };
  }
  const r = runAccessTracking(c.input, profile);
  const phases: Record<string, number> = {};
  r.phases.forEach((p, i) => {
    phases[`${i} ${p.name}`] = p.ns;
  });
  return {
    stdout: r.stdout,
    phases,
    benchmark: r.benchmark === null ? null : { ...r.benchmark },
    time: Object.fromEntries(r.time.classes.map((k) => [k.class, { elapsed: k.elapsedNs, ...k.categories }])),
    steps: r.counters.engine?.steps ?? 0,
  };
}

/** Every golden run's record, by name. */
export function goldenRecords(): Record<string, GoldenRecord> {
  return Object.fromEntries(GOLDEN_CONFIGS.map((c) => [c.name, goldenRecord(c)]));
}
