/**
 * Models no kernel file: which cost profile simulates each machine of the micro-experiment
 * references (the `machine` of every row in references/micro-*.yaml), or why none does. The one
 * place `mmulab validate` looks this up; docs/micro-references.md explains each choice.
 */
import type { PageFaultKernel } from './page-fault.ts';

/** A reference machine simulated on a profile, or not simulated. */
export type MachineProfile = { profile: string; why: string } | { profile: null; why: string };

/** Reference machine id → the profile that simulates it. */
export const MICRO_MACHINE_PROFILES: Readonly<Record<string, MachineProfile>> = {
  'bdw-2650v4': {
    profile: 'bdw-2650v4',
    why: 'the profile of this machine: 2 x 12-core Broadwell-EP, its measured line costs',
  },
  'bdw-2695v4': {
    profile: 'bdw-2650v4',
    why: "same generation (Broadwell-EP: rings, QPI); bdw-2650v4's line costs are this machine's measured ones",
  },
  'spr-2s': {
    profile: 'seed003-x86',
    why: "seed003-x86 models this machine class (two-socket Sapphire Rapids, the Xeon 8480+'s generation)",
  },
  'icx-8375c': {
    profile: 'icx-8358',
    why: "same generation (Ice Lake-SP: one mesh die per socket, UPI); icx-8358's line costs are this machine's measured ones",
  },
  'icx-8358': {
    profile: 'icx-8358',
    why: 'the profile of this machine: 2 x 32-core Ice Lake-SP, the line costs measured on the 8375C',
  },
  'skl-6700hq': {
    profile: 'skl-6700hq',
    why: 'the profile of this machine: one 4-core Skylake client socket, hand-off and local RMW from its 2- and 1-thread rows',
  },
  'icl-1035g4': {
    profile: 'icl-1035g4',
    why: 'the profile of this machine: one 4-core Ice Lake client socket, hand-off and local RMW from its 2- and 1-thread rows',
  },
  'clx-8275cl': {
    profile: 'clx-6252',
    why: "same generation (Cascade Lake-SP: mesh, UPI); clx-6252's line costs are this machine's measured ones",
  },
  'clx-6242': {
    profile: 'clx-6252',
    why: "same generation (Cascade Lake-SP: mesh, UPI); clx-6252's line costs are the 8275CL's",
  },
  'clx-6252': {
    profile: 'clx-6252',
    why: 'the profile of this machine: 2 x 24-core Cascade Lake-SP, the line costs measured on the 8275CL',
  },
  'skx-2s-112': {
    profile: 'skx-2s-112',
    why: 'the profile of this machine: 2 x 28-core Skylake-SP, line costs of Cascade Lake-SP (same mesh and UPI)',
  },
  'spr-8480ctdx': {
    profile: 'seed003-x86',
    why: 'seed003-x86 models this machine class (2 x 56-core Xeon 8480+, 224 CPUs; the 8480CTDX is a variant of the same die); its rows run with THP (micro page-fault --thp)',
  },
};

/**
 * What a page fault locks in each page-fault source's kernel: mmap_lock for read up to 6.3, the
 * VMA's lock from 6.4 (lock_vma_under_rcu). A source not named here ran a kernel before 6.4.
 */
export const MICRO_SOURCE_FAULT_LOCK: Readonly<Record<string, 'mmap_lock' | 'per-vma'>> = {
  // Mainline at 4ef9ad19e176, early 2024 (6.8-rc). There lock_vma_under_rcu turns away an anonymous
  // VMA without an anon_vma (657b5146955e), so the first fault of each new mapping takes mmap_lock;
  // the model takes the VMA lock for all (one fault in 64 of a 128 MiB THP mapping).
  lkp2024spr: 'per-vma',
};

/**
 * The kernel of each mmap_lock page-fault source whose kernel is not 5.13's layout and trylock (see
 * PAGE_FAULT_KERNELS). A source not named here ran 4.16 or 5.13.
 */
export const MICRO_SOURCE_KERNEL: Readonly<Record<string, PageFaultKernel>> = {
  // linux-next of early December 2022 (6.1 with the 6.2 merge window's mm-unstable).
  lkp2022clx: '6.2',
  lkp2022icx: '6.2',
};

/** The profile of a reference machine; throws for a machine this map does not name. */
export function machineProfile(machine: string): MachineProfile {
  if (!Object.hasOwn(MICRO_MACHINE_PROFILES, machine))
    throw new Error(`micro references: machine '${machine}' is in no entry of MICRO_MACHINE_PROFILES`);
  return MICRO_MACHINE_PROFILES[machine];
}
