import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from './main.ts';
import { profileJsonSchema } from './profiles-command.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmulab profiles', () => {
  it('lists each shipped profile with the first sentence of its description', () => {
    const r = run('profiles');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'bdw-2650v4   Dell R630 with 2 x Intel Xeon E5-2650 v4 (Broadwell-EP, 12 cores per socket, SMT 2, 48 CPUs), the machine of the will-it-scale page_fault rows in references/micro-page-fault.yaml (Zi Yan, linux-mm, 2 Jun 2021).',
      'clx-6252     2 x Intel Xeon Gold 6252 (Cascade Lake-SP, 24 cores per socket, SMT 2, 96 CPUs), the machine of the LKP will-it-scale page_fault3 thread row in references/micro-page-fault.yaml (lkp-csl-2sp7, Dec 2022).',
      'icl-1035g4   A laptop\'s Intel Core i5-1035G4 (Ice Lake client, one socket, 4 cores, ring interconnect): the machine of the second set of N-thread atomic-add rows in references/micro-line-contention.yaml (Travis Downs, "A Concurrency Cost Hierarchy", 2020).',
      'icx-8358     2 x Intel Xeon Platinum 8358 (Ice Lake-SP, 32 cores per socket, SMT 2, 128 CPUs), the machine of the LKP will-it-scale page_fault3 thread row in references/micro-page-fault.yaml (lkp-icl-2sp5, Dec 2022).',
      "seed003-x86  Two-socket x86-64 server of the kind seed 003's 112-vCPU runs need: 2 x 56-core Sapphire Rapids class parts, 224 threads, one NUMA node per socket, EPT with A/D bits and the TDP MMU.",
      'skl-6700hq   A laptop\'s Intel Core i7-6700HQ (Skylake client, one socket, 4 cores, ring interconnect): the machine of the N-thread atomic-add rows in references/micro-line-contention.yaml (Travis Downs, "A Concurrency Cost Hierarchy", 2020).',
      "skx-2s-112   2-socket Intel Skylake-SP server, 2 x 28 cores with SMT, 112 CPUs (exact SKU not stated), the machine of Aaron Lu's will-it-scale page_fault1 process-mode row in references/micro-page-fault.yaml (linux-mm, 5 Mar 2018).",
      "x86-tdp      x86-64 host with EPT (A/D bits on) and the TDP MMU; figures are order-of-magnitude estimates until the calibration issue fits them to seed 003's published rows.",
      '',
    ]);
  });

  it('keeps profiles/profile.schema.json equal to the schema made from the zod schema', () => {
    // Regenerate: npx mmulab profiles --schema > profiles/profile.schema.json && npx biome format --write profiles
    const file = JSON.parse(readFileSync(join(ROOT, 'profiles', 'profile.schema.json'), 'utf8'));
    expect(file).toEqual(JSON.parse(profileJsonSchema()));
    expect(file.properties.costs.properties.pcpBatch.properties.value).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 63,
    });
    expect(run('profiles', '--schema').out).toBe(profileJsonSchema());
  });
});
