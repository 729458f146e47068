import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  COST_TERMS,
  DEFAULT_PROFILE,
  listProfiles,
  loadProfile,
  ProfileError,
  parseProfile,
  withCosts,
  zeroProfile,
} from './profile.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rawProfile = (name: string) =>
  JSON.parse(readFileSync(join(ROOT, 'profiles', `${name}.json`), 'utf8')) as {
    costs: Record<string, { value: number; unit: string; source: string }>;
  };

describe('cost profiles', () => {
  it('ships the default profile with every term, in its declared unit', () => {
    expect(listProfiles()).toContain(DEFAULT_PROFILE);
    const p = loadProfile(DEFAULT_PROFILE);
    expect(p.name).toBe('x86-tdp');
    const raw = rawProfile(DEFAULT_PROFILE);
    for (const k of Object.keys(COST_TERMS) as (keyof typeof COST_TERMS)[]) {
      expect(p[k]).toBe(raw.costs[k].value);
      expect(raw.costs[k].unit).toBe(COST_TERMS[k][0]);
    }
    expect(Object.keys(raw.costs).sort()).toEqual(Object.keys(COST_TERMS).sort());
  });

  it('names the bad field of a malformed profile', () => {
    const raw = rawProfile(DEFAULT_PROFILE);
    const noSource = structuredClone(raw);
    noSource.costs.ageSpteNs.source = '';
    expect(() => parseProfile('bad', { description: 'x', ...noSource })).toThrow(/costs\.ageSpteNs\.source/);
    const wrongUnit = structuredClone(raw);
    wrongUnit.costs.ageSpteNs.unit = 'us';
    expect(() => parseProfile('bad', { description: 'x', ...wrongUnit })).toThrow(
      'profile bad: costs.ageSpteNs.unit: unit must be ns',
    );
    const missing = structuredClone(raw);
    delete (missing.costs as Record<string, unknown>).walkPteNs;
    expect(() => parseProfile('bad', { description: 'x', ...missing })).toThrow(/costs\.walkPteNs/);
    const negative = structuredClone(raw);
    negative.costs.walkPteNs.value = -1;
    expect(() => parseProfile('bad', { description: 'x', ...negative })).toThrow(ProfileError);
  });

  it('refuses unknown names and path tricks', () => {
    expect(() => loadProfile('nope')).toThrow(
      "unknown profile 'nope' (known: bdw-2650v4, clx-6252, icl-1035g4, icx-8358, seed003-x86, skl-6700hq, skx-2s-112, x86-tdp; or a path to a .json file)",
    );
    expect(() => loadProfile('../package')).toThrow(ProfileError);
  });

  it('overrides figures without touching the rest', () => {
    const base = loadProfile(DEFAULT_PROFILE);
    const p = withCosts(base, { ageSpteNs: 99 });
    expect(p.ageSpteNs).toBe(99);
    expect(p.walkPteNs).toBe(base.walkPteNs);
    const z = zeroProfile({ walkPteNs: 3 });
    expect(z.walkPteNs).toBe(3);
    expect(z.ageSpteNs).toBe(0);
    expect(z.pcpBatch).toBe(63);
  });

  it('docs/cost-model.md lists every term with the shipped value and unit', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'cost-model.md'), 'utf8');
    const rows = new Map<string, [number, string]>();
    for (const m of doc.matchAll(/^\| `(\w+)` \| ([\d .]+?) ([\w/]+) \|/gm))
      rows.set(m[1], [Number(m[2].replaceAll(' ', '')), m[3]]);
    const p = loadProfile(DEFAULT_PROFILE);
    for (const k of Object.keys(COST_TERMS) as (keyof typeof COST_TERMS)[])
      expect([k, rows.get(k)]).toEqual([k, [p[k], COST_TERMS[k][0]]]);
    expect(rows.size).toBe(Object.keys(COST_TERMS).length);
  });

  it('a profile that extends another copies its figures and replaces only those it lists', () => {
    const base = loadProfile('seed003-x86');
    const bdw = loadProfile('bdw-2650v4');
    const changed = (Object.keys(COST_TERMS) as (keyof typeof COST_TERMS)[]).filter(
      (k) => bdw[k] !== base[k],
    );
    // The Broadwell machine's own figures (its contended hand-off fitted to its page_fault3 rows);
    // every kernel cost is seed003-x86's.
    expect(changed.sort()).toEqual([
      'cacheLineContendedNs',
      'cacheLineLocalNs',
      'cacheLineRemoteNs',
      'cacheLineTransferNs',
      'coresPerSocket',
      'memBandwidthBytesPerNs',
      'turboAllCoreMhz',
      'turboFullCores',
      'turboMaxMhz',
    ]);
    expect([bdw.name, bdw.coresPerSocket, bdw.cacheLineTransferNs]).toEqual(['bdw-2650v4', 12, 44]);
  });

  it('refuses a profile that extends itself, in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmulab-profile-'));
    const path = join(dir, 'loop.json');
    writeFileSync(path, JSON.stringify({ description: 'x', extends: path, costs: {} }));
    expect(() => loadProfile(path)).toThrow(ProfileError);
    expect(() => loadProfile(path)).toThrow(/profile loop: extends: .* leads back to itself \(a cycle\)/);
  });
});
