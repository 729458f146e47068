/**
 * Models no kernel file: which cost profile simulates each machine of the micro-experiment
 * references (the `machine` of every row in references/micro-*.yaml), or why none does. The one
 * place `mmulab validate` looks this up; docs/micro-references.md explains each choice.
 */

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
  'icx-8375c': {
    profile: 'seed003-x86',
    why: "the nearest generation to seed003-x86's Xeon 8480+ with a published hand-off (Ice Lake-SP, one-die mesh, UPI)",
  },
  'clx-8275cl': { profile: null, why: 'no profile for clx-8275cl (Cascade Lake-SP)' },
  'clx-6242': { profile: null, why: 'no profile for clx-6242 (Cascade Lake-SP)' },
  'skx-2s-112': {
    profile: 'skx-2s-112',
    why: 'the profile of this machine: 2 x 28-core Skylake-SP, line costs of Cascade Lake-SP (same mesh and UPI)',
  },
  'spr-8480ctdx': {
    profile: 'seed003-x86',
    why: 'seed003-x86 models this generation (Xeon 8480+); its rows are THP-backed, which micro page-fault does not run',
  },
};

/** The profile of a reference machine; throws for a machine this map does not name. */
export function machineProfile(machine: string): MachineProfile {
  if (!Object.hasOwn(MICRO_MACHINE_PROFILES, machine))
    throw new Error(`micro references: machine '${machine}' is in no entry of MICRO_MACHINE_PROFILES`);
  return MICRO_MACHINE_PROFILES[machine];
}
