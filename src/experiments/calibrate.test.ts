import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, withCosts } from '../sim/profile.ts';
import { calibrate, FREE_PARAMETERS, fittedProfileFile, trialCostsFor } from './calibrate.ts';
import { loadReference, type Reference } from './published.ts';
import { runTable } from './table.ts';

const base = loadProfile('x86-tdp');
const params = FREE_PARAMETERS.filter((p) => p.term === 'hostFaultNs' || p.term === 'walkPteNs');

/** A reference made by the model itself with known values of the two free parameters. */
function syntheticReference(hostFaultNs: number, walkPteNs: number): Reference {
  const truth = withCosts(base, { hostFaultNs, walkPteNs });
  const t = runTable({ vcpus: [1], vcpuBytes: 2 << 20, kernels: ['6.12', '6.15'], profile: truth });
  return {
    vcpuBytes: 2 << 20,
    rows: t.rows.map((r) => ({
      vcpus: r.vcpus,
      label: r.label as 'no aging' | 'no opt' | 'opt',
      vcpuWallS: r.vcpuWallNs / 1e9,
      agingPassS: r.avgPassNs === null ? null : r.avgPassNs / 1e9,
    })),
  };
}

describe('mmulab calibrate', () => {
  it("gives the micro references' profiles the trial values they do not set themselves", () => {
    const base = loadProfile('seed003-x86');
    const values = { hostFaultNs: 900, zoneRefillNs: 4000, cacheLineTransferNs: 60, cacheLineRemoteNs: 150 };
    const costsFor = trialCostsFor(base, values);
    // The base itself: every trial value (the Ice Lake line rows run on it).
    expect(costsFor('seed003-x86')).toEqual(values);
    // Machines derived from it keep their measured line costs and take the kernel's costs.
    expect(costsFor('bdw-2650v4')).toEqual({ hostFaultNs: 900, zoneRefillNs: 4000 });
    expect(costsFor('skx-2s-112')).toEqual({ hostFaultNs: 900, zoneRefillNs: 4000 });
    // A profile that does not build on the base runs as shipped.
    expect(costsFor('x86-tdp')).toBeUndefined();
  });

  it('recovers known parameters from a synthetic reference, deterministically', () => {
    const reference = syntheticReference(800, 12);
    const a = calibrate({ reference, base, params, maxEvaluations: 40 });
    // Starting from 520 ns and 6 ns, within 40 simulations: 820 ns and 12.8 ns. Near the truth the
    // error is not smooth (how the aging passes interleave with the faults moves the vCPU wall
    // times: 0 at 800 ns and 12 ns, 2.6e-4 at 802 ns and 12 ns, 4.1e-5 at 820 ns and 12.8 ns), so
    // the search stops a few per cent away.
    expect(Math.abs(a.profile.hostFaultNs / 800 - 1)).toBeLessThan(0.03);
    expect(Math.abs(a.profile.walkPteNs / 12 - 1)).toBeLessThan(0.07);
    expect(a.steps[0].error).toBeGreaterThan(0.002);
    expect(Math.min(...a.steps.map((s) => s.error))).toBeLessThan(5e-5);
    // Untouched terms stay as they were.
    expect(a.profile.ageSpteNs).toBe(base.ageSpteNs);
    const b = calibrate({ reference, base, params, maxEvaluations: 6 });
    expect(b.steps).toEqual(a.steps.slice(0, 6));
  });

  it('keeps every value inside its plausible range', () => {
    // A reference no plausible value can reach: 100x slower faults.
    const reference = syntheticReference(800, 12);
    for (const r of reference.rows) r.vcpuWallS *= 100;
    const { profile } = calibrate({ reference, base, params, maxEvaluations: 12 });
    expect(profile.hostFaultNs).toBe(1500);
  });

  it('writes changed values with their new source, keeps unchanged ones, and notes the fit once', () => {
    const base = loadProfile('x86-tdp');
    const raw = {
      description: 'A host. Fitted by mmulab calibrate to ref.yaml.',
      costs: {
        hostFaultNs: { value: base.hostFaultNs, unit: 'ns', source: 'guess' },
        walkPteNs: { value: base.walkPteNs, unit: 'ns', source: 'guess' },
      },
    };
    const params = FREE_PARAMETERS.filter((p) => p.term === 'hostFaultNs' || p.term === 'walkPteNs');
    const fitted = withCosts(base, { hostFaultNs: 700, walkPteNs: base.walkPteNs });
    const out = fittedProfileFile(raw, base, fitted, params, 'ref.yaml') as typeof raw;
    expect(out.description).toBe('A host. Fitted by mmulab calibrate to ref.yaml.');
    expect(out.costs.hostFaultNs.value).toBe(700);
    expect(out.costs.hostFaultNs.source).toMatch(
      /^fitted by mmulab calibrate to ref.yaml within \[200, 1500\]/,
    );
    expect(out.costs.hostFaultNs.source).toMatch(/x86-tdp had 520$/);
    expect(out.costs.walkPteNs).toEqual(raw.costs.walkPteNs);
  });

  it('names what is wrong with a reference file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmulab-ref-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'vcpuBytes: 4096\nrows:\n  - { vcpus: 1, label: fast, vcpuWallS: 1, agingPassS: null }\n',
    );
    expect(() => loadReference(bad)).toThrow(`--reference: ${bad}:3: rows.0.label: Invalid option`);
    expect(() => loadReference(join(dir, 'missing.yaml'))).toThrow(/cannot read/);
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ vcpuBytes: 4096, rows: [{ vcpus: 1, label: 'opt', vcpuWallS: 1, agingPassS: 0.1 }] }),
    );
    expect(loadReference(good).rows[0].agingPassS).toBe(0.1);
  });
});
