/**
 * Models no kernel file: the options of `mmulab mmio-gen` (memslot churn that wraps the MMIO
 * generation, in the manner of the KVM selftests memslot_modification_stress_test and
 * memslot_perf_test), checked before anything is simulated.
 */

import { MMIO_ZAP_STRATEGIES, type MmioZapStrategyVariant } from '../../kvm/x86/mmio-zap-strategies.ts';
import { UserError } from '../../sim/user-error.ts';
import { X86_MMUS } from '../access-tracking/options.ts';
import {
  checkScenarioMemslots,
  DEFAULT_SCENARIO,
  loadMmioGenScenario,
  type MmioGenScenario,
} from './scenario.ts';

/** Where kvm_create_vm starts the generation: the -150 hack (wraps early) or today's as_id. */
export const START_GENS = ['hack', 'as-id'] as const;

/** The options of one mmio-gen run (or sweep). */
export interface MmioGenRunOptions {
  /** Strategies to run, in order. */
  strategies: readonly MmioZapStrategyVariant[];
  mmu: (typeof X86_MMUS)[number];
  /** Memslot updates (KVM_SET_USER_MEMORY_REGION calls) per simulated second. */
  rate: number;
  /** Memslot updates the VMM thread makes in total. */
  updates: number;
  startGen: (typeof START_GENS)[number];
  /** MMIO gfns the guest touches, each in its own 1 GiB (its own level-2 and level-1 shadow page). */
  pages: number;
  vcpus: number;
  /** RAM per vCPU (bytes) that memstress writes each iteration. */
  vcpuBytes: number;
  /** `--sweep-pages`: run each strategy at each of these `pages` values. */
  sweepPages: readonly number[] | null;
  /** The memslots the VMM adds and toggles (DEFAULT_SCENARIO: the VGA window). */
  scenario: MmioGenScenario;
}

/** Defaults: every strategy finishes in well under a minute of wall time. */
export const MMIO_GEN_DEFAULTS = {
  mmu: 'shadow',
  rate: 1000,
  updates: 100,
  startGen: 'hack',
  pages: 256,
  vcpus: 4,
  vcpuBytes: 2 << 20,
} as const;

/** A bad option of mmio-gen: the CLI prints the message in one line and exits 2. */
export class MmioGenOptionsError extends UserError {}

/** Raw options as the CLI gives them (strings where the user typed them). */
export interface MmioGenRawOptions {
  strategy?: string;
  mmu?: string;
  rate?: string;
  updates?: number;
  startGen?: string;
  pages?: number;
  vcpus?: number;
  vcpuBytes?: number;
  sweepPages?: number[];
  /** `--scenario`: a YAML or JSON file of memslots (and optionally rate and strategies). */
  scenario?: string;
}

/**
 * Checks and completes raw options. Unknown strategy or MMU, a rate that is not a number > 0, or a
 * named strategy without a TDP meaning on the TDP MMU: MmioGenOptionsError; a bad scenario file or
 * overlapping memslots: MmioGenScenarioError. Without --strategy, the scenario's strategies, else
 * every strategy the MMU can run; the rate likewise: --rate, the scenario's, the default.
 */
export function resolveMmioGenOptions(raw: MmioGenRawOptions): MmioGenRunOptions {
  const scenario = raw.scenario === undefined ? DEFAULT_SCENARIO : loadMmioGenScenario(raw.scenario);
  const vcpus = raw.vcpus ?? MMIO_GEN_DEFAULTS.vcpus;
  const vcpuBytes = raw.vcpuBytes ?? MMIO_GEN_DEFAULTS.vcpuBytes;
  if (raw.scenario !== undefined)
    checkScenarioMemslots(`--scenario: ${raw.scenario}`, scenario, vcpus, vcpuBytes);
  const mmu = raw.mmu ?? MMIO_GEN_DEFAULTS.mmu;
  if (!(X86_MMUS as readonly string[]).includes(mmu))
    throw new MmioGenOptionsError(`--mmu must be one of ${X86_MMUS.join(', ')}, not '${mmu}'`);
  const startGen = raw.startGen ?? MMIO_GEN_DEFAULTS.startGen;
  if (!(START_GENS as readonly string[]).includes(startGen))
    throw new MmioGenOptionsError(`--start-gen must be one of ${START_GENS.join(', ')}, not '${startGen}'`);
  const rateText = raw.rate ?? String(scenario.rate ?? MMIO_GEN_DEFAULTS.rate);
  const rate = Number(rateText);
  if (!/^[0-9.eE+-]+$/.test(rateText) || !Number.isFinite(rate) || rate <= 0)
    throw new MmioGenOptionsError(
      `--rate must be a number of memslot updates per second > 0, not '${rateText}'`,
    );
  let strategies: MmioZapStrategyVariant[];
  const strategy = raw.strategy ?? scenario.strategies?.join(',');
  if (strategy === undefined || strategy === 'all')
    strategies = MMIO_ZAP_STRATEGIES.filter((s) => mmu === 'shadow' || s.tdp);
  else {
    strategies = [];
    for (const name of strategy.split(',')) {
      const s = MMIO_ZAP_STRATEGIES.find((x) => x.name === name.trim());
      if (s === undefined)
        throw new MmioGenOptionsError(
          `unknown MMIO zap strategy '${name}' (known: ${MMIO_ZAP_STRATEGIES.map((x) => x.name).join(', ')})`,
        );
      if (mmu === 'tdp' && !s.tdp)
        throw new MmioGenOptionsError(
          `strategy ${s.name} walks the shadow MMU's active_mmu_pages and has no TDP MMU meaning: use --mmu shadow`,
        );
      strategies.push(s);
    }
  }
  return {
    strategies,
    mmu: mmu as MmioGenRunOptions['mmu'],
    rate,
    updates: raw.updates ?? MMIO_GEN_DEFAULTS.updates,
    startGen: startGen as MmioGenRunOptions['startGen'],
    pages: raw.pages ?? MMIO_GEN_DEFAULTS.pages,
    vcpus,
    vcpuBytes,
    sweepPages: raw.sweepPages ?? null,
    scenario,
  };
}
