/**
 * Models no kernel file: experiment: `mmulab calibrate` fits a profile's free cost terms to
 * reference rows (coordinate descent over seeded simulations).
 */
import { type CostProfile, type CostTerm, readProfileFile, withCosts } from '../sim/profile.ts';
import { runMicroValidation } from './micro-validate.ts';
import type { Reference } from './published.ts';
import { runTable } from './table.ts';

/**
 * Bytes each page_fault1 task maps when calibrate simulates the micro references: a quarter of
 * page_fault1's 128 MiB, so that an evaluation takes about 15 s more rather than 50; the simulated
 * rate hardly depends on it (docs/micro-references.md: 16 threads, 3 189 782 pages/s with 32 MiB
 * against 3 186 728 with 64 MiB).
 */
export const CALIBRATE_MICRO_MEMSIZE = 32 * 1024 * 1024;

/**
 * A free parameter of the fit: a cost term and the range of values that stay physically plausible.
 * The fit never leaves the range; a value at a bound says the model lacks a mechanism.
 */
export interface FreeParameter {
  term: CostTerm;
  min: number;
  max: number;
  why: string;
}

/** The terms `mmulab calibrate` fits by default, with their plausible ranges (docs/cost-model.md). */
export const FREE_PARAMETERS: readonly FreeParameter[] = [
  { term: 'hostFaultNs', min: 200, max: 1500, why: 'anonymous handle_mm_fault without zeroing: 0.2-1.5 us' },
  { term: 'pageZeroNsPer4K', min: 250, max: 1200, why: 'clear_page of 4 KiB at 3.5-16 GB/s' },
  {
    term: 'cacheLineTransferNs',
    min: 40,
    max: 100,
    why: 'line hand-off between two cores of one socket: 44-51 ns measured on Broadwell-EP to Ice Lake-SP (references/micro-line-contention.yaml), more on a larger mesh',
  },
  {
    term: 'cacheLineRemoteNs',
    min: 100,
    max: 300,
    why: 'line hand-off across sockets: 108-136 ns measured on two-socket Broadwell-EP to Ice Lake-SP (references/micro-line-contention.yaml), up to about twice that for a contended line homed on the other socket',
  },
  { term: 'releaseFaultinNs', min: 20, max: 400, why: 'folio_mark_accessed, dirty and put_page' },
  { term: 'walkPteNs', min: 2, max: 30, why: 'one PTE of walk_pte_range, cache hit to miss' },
  { term: 'hvaRangeNs', min: 20, max: 300, why: 'SRCU and the memslot lookup of one notifier call' },
  {
    term: 'lruMoveFolioNs',
    min: 20,
    max: 400,
    why: 'one folio of folio_batch_move_lru under lru_lock, with its struct page misses',
  },
  { term: 'zoneRefillNs', min: 1000, max: 10000, why: 'rmqueue_bulk of one pcp batch under zone->lock' },
];

/** One evaluation of the model against the reference. */
export interface CalibrationStep {
  values: Record<string, number>;
  /** Mean squared log ratio simulated/reference over every wall and pass time. */
  error: number;
}

/** Options of `calibrate`. */
export interface CalibrateOptions {
  reference: Reference;
  base: CostProfile;
  params?: readonly FreeParameter[];
  /** Stop after this many model evaluations. */
  maxEvaluations?: number;
  seed?: number;
  /** Simulations to run at once per evaluation (worker threads). */
  jobs?: number;
  onStep?: (step: CalibrationStep, evaluations: number) => void;
  /**
   * Also score the micro references (references/micro-*.yaml rows that `mmulab validate` simulates)
   * whose profile is the base or extends it, with the trial values the profile does not set itself;
   * page_fault1 tasks map `memsize` bytes. Null: the reference rows only.
   */
  micro?: { memsize: number } | null;
}

/**
 * For a micro reference job on profile `name`: the fitted terms' trial `values` it takes (all of
 * them on the base; on a profile that extends the base, those it does not set itself), or
 * undefined for a profile that does not build on the base (it runs as shipped).
 */
export function trialCostsFor(
  base: CostProfile,
  values: Partial<Record<CostTerm, number>>,
): (name: string) => Partial<Record<CostTerm, number>> | undefined {
  return (name) => {
    if (name === base.name) return values;
    const raw = readProfileFile(name) as { extends?: string; costs: Record<string, unknown> };
    if (raw.extends !== base.name) return undefined;
    return Object.fromEntries(Object.entries(values).filter(([k]) => !(k in raw.costs)));
  };
}

/**
 * Simulates the reference's rows with `profile` and scores them: the mean squared log ratio over
 * every wall and pass time and, with `micro`, every simulated micro reference row (`values`: the
 * trial values, which derived profiles take over).
 */
export function calibrationError(
  ref: Reference,
  profile: CostProfile,
  seed = 0,
  jobs = 1,
  micro: { memsize: number; base: CostProfile; values: Partial<Record<CostTerm, number>> } | null = null,
): number {
  const vcpus = [...new Set(ref.rows.map((r) => r.vcpus))].sort((a, b) => a - b);
  const t = runTable({ vcpus, vcpuBytes: ref.vcpuBytes, kernels: ['6.12', '6.15'], profile, seed, jobs });
  let sum = 0;
  let n = 0;
  for (const r of ref.rows) {
    const s = t.rows.find((x) => x.vcpus === r.vcpus && x.label === r.label)!;
    sum += Math.log(s.vcpuWallNs / 1e9 / r.vcpuWallS) ** 2;
    n++;
    if (r.agingPassS !== null && s.avgPassNs !== null) {
      sum += Math.log(s.avgPassNs / 1e9 / r.agingPassS) ** 2;
      n++;
    }
  }
  if (micro !== null) {
    const m = runMicroValidation({
      memsize: micro.memsize,
      jobs,
      costs: trialCostsFor(micro.base, micro.values),
    });
    for (const r of m.rows)
      if (r.ratio !== null) {
        sum += Math.log(r.ratio) ** 2;
        n++;
      }
  }
  return sum / n;
}

/**
 * Fits the free parameters to the reference by coordinate descent in log space: for each parameter
 * in turn, try it multiplied and divided by the step factor (clamped to its range) and keep the
 * best; when a whole round improves nothing, halve the step in log space; stop below a factor of
 * 1.02 or at maxEvaluations. Deterministic: fixed order, fixed steps, seeded simulations.
 */
export function calibrate(o: CalibrateOptions): { profile: CostProfile; steps: CalibrationStep[] } {
  const params = o.params ?? FREE_PARAMETERS;
  const max = o.maxEvaluations ?? 200;
  const values: Record<string, number> = {};
  for (const p of params) values[p.term] = Math.min(p.max, Math.max(p.min, o.base[p.term]));
  const steps: CalibrationStep[] = [];
  const evaluate = (v: Record<string, number>): number => {
    const micro = o.micro ? { memsize: o.micro.memsize, base: o.base, values: v } : null;
    const error = calibrationError(o.reference, withCosts(o.base, v), o.seed, o.jobs, micro);
    const step = { values: { ...v }, error };
    steps.push(step);
    o.onStep?.(step, steps.length);
    return error;
  };
  let best = evaluate(values);
  for (let factor = 2; factor >= 1.02 && steps.length < max; ) {
    let improved = false;
    for (const p of params) {
      for (const f of [factor, 1 / factor]) {
        if (steps.length >= max) break;
        const v = Math.min(p.max, Math.max(p.min, values[p.term] * f));
        if (v === values[p.term]) continue;
        const trial = { ...values, [p.term]: v };
        const e = evaluate(trial);
        if (e < best) {
          best = e;
          values[p.term] = v;
          improved = true;
          break;
        }
      }
    }
    if (!improved) factor = Math.sqrt(factor);
  }
  return { profile: withCosts(o.base, values), steps };
}

/**
 * The base profile file with the fitted values in place, each changed figure's source saying it was
 * fitted, to what, within which range, and what it was before (an unchanged figure keeps its source).
 */
export function fittedProfileFile(
  baseRaw: unknown,
  base: CostProfile,
  fitted: CostProfile,
  params: readonly FreeParameter[],
  referenceName: string,
): unknown {
  const raw = structuredClone(baseRaw) as {
    description: string;
    costs: Record<string, { value: number; unit: string; source: string }>;
  };
  const note = `Fitted by mmulab calibrate to ${referenceName}.`;
  if (!raw.description.includes(note)) raw.description = `${raw.description} ${note}`;
  for (const p of params) {
    const c = raw.costs[p.term];
    const value = Math.round(fitted[p.term] * 100) / 100;
    if (value === c.value) continue;
    c.value = value;
    c.source = `fitted by mmulab calibrate to ${referenceName} within [${p.min}, ${p.max}] (${p.why}); ${base.name} had ${base[p.term]}`;
  }
  return raw;
}
