import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import {
  COST_TERMS,
  loadProfile,
  ProfileError,
  parseProfile,
  profileFileSchema,
  readProfileFile,
} from './profile.ts';

type Raw = { description: string; costs: Record<string, { value: number; unit: string; source: string }> };
const raw = () => structuredClone(readProfileFile('x86-tdp')) as Raw;
function withValue(term: string, value: number): Raw {
  const r = raw();
  r.costs[term].value = value;
  return r;
}
const dir = mkdtempSync(join(tmpdir(), 'mmulab-profile-'));

describe('profile bounds', () => {
  it('refuses values the model cannot run, naming the field', () => {
    for (const [term, value, message] of [
      ['memBandwidthBytesPerNs', 0, 'Too small: expected number to be >=0.01'],
      ['turboMaxMhz', 0, 'Too small: expected number to be >=100'],
      ['sockets', 1e308, 'Too big: expected number to be <=64'],
      ['pcpBatch', 2 ** 31, 'Too big: expected number to be <=63'],
      ['pcpBatch', 1.5, 'Invalid input: expected int, received number'],
      ['walkPteNs', 0, 'Too small: expected number to be >=1'],
      ['timesliceNs', 10, 'Too small: expected number to be >=1000'],
      ['jitter', 1, 'Too big: expected number to be <=0.5'],
    ] as const)
      expect(() => parseProfile('bad', withValue(term, value))).toThrow(
        `profile bad: costs.${term}.value: ${message}`,
      );
    const many = raw();
    many.costs.sockets.value = 64;
    many.costs.coresPerSocket.value = 1024;
    expect(() => parseProfile('big', many)).toThrow(
      'profile big: costs.coresPerSocket.value: sockets x cores x threads must be at most 8192 host CPUs (NR_CPUS)',
    );
  });

  it('refuses a term the model does not know, also in a profile that extends another', () => {
    const old = {
      description: 'a profile from before session 15',
      extends: 'seed003-x86',
      costs: {
        lruBatch: { value: 31, unit: 'folios', source: 'PAGEVEC_SIZE' },
      },
    };
    expect(() => parseProfile('old', old)).toThrow('profile old: costs: Unrecognized key: "lruBatch"');
    const typo = raw();
    (typo.costs as Record<string, unknown>).walkPteNz = typo.costs.walkPteNs;
    expect(() => parseProfile('typo', typo)).toThrow('profile typo: costs: Unrecognized key: "walkPteNz"');
  });

  it('runs every mode with each figure at either end of its bounds', () => {
    const schema = z.toJSONSchema(profileFileSchema) as unknown as {
      properties: {
        costs: { properties: Record<string, { properties: { value: Record<string, number> } }> };
      };
    };
    for (const end of ['minimum', 'maximum'] as const) {
      const r = raw();
      for (const k of Object.keys(COST_TERMS))
        r.costs[k].value = schema.properties.costs.properties[k].properties.value[end];
      // The topology at either end, within NR_CPUS and with more CPUs than vCPUs.
      r.costs.sockets.value = end === 'minimum' ? 1 : 2;
      r.costs.coresPerSocket.value = end === 'minimum' ? 4 : 512;
      const p = parseProfile(end, r);
      for (const mode of [{}, { lruGen: true }, { benchmark: true }]) {
        const res = runAccessTracking({ vcpus: 2, vcpuBytes: 1 << 20, ...mode }, p);
        expect([end, mode, res.failure]).toEqual([end, mode, null]);
        expect(res.phases.length + (res.benchmark?.passes ?? 0)).toBeGreaterThan(0);
      }
    }
  });

  it('loads a profile from a path: a byte order mark is fine, a trailing comma is one line', () => {
    const good = join(dir, 'fitted.json');
    writeFileSync(good, `\uFEFF${JSON.stringify(raw(), null, 2)}\n`);
    const p = loadProfile(good);
    expect(p.name).toBe('fitted');
    expect(p.walkPteNs).toBe(loadProfile('x86-tdp').walkPteNs);
    const comma = join(dir, 'comma.json');
    writeFileSync(comma, readFileSync(good, 'utf8').replace(/\}\n\s*\}\n\}\n$/, '},\n  }\n}\n'));
    expect(() => loadProfile(comma)).toThrow(ProfileError);
    expect(() => loadProfile(comma)).toThrow(
      new RegExp(
        `^profile ${comma}:\\d+: not valid JSON after "source": Expected double-quoted property name$`,
      ),
    );
    const zero = join(dir, 'zero.json');
    writeFileSync(zero, JSON.stringify(withValue('memBandwidthBytesPerNs', 0), null, 2));
    const line = readFileSync(zero, 'utf8').split('\n').indexOf('    "memBandwidthBytesPerNs": {') + 2;
    expect(() => loadProfile(zero)).toThrow(
      `profile ${zero}:${line}: costs.memBandwidthBytesPerNs.value: Too small: expected number to be >=0.01`,
    );
    expect(() => loadProfile(join(dir, 'none.json'))).toThrow(
      `profile cannot read '${join(dir, 'none.json')}' (ENOENT)`,
    );
  });
});
