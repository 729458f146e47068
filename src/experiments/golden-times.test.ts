import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GOLDEN_CONFIGS, goldenRecord } from './golden-times.ts';

// Exact simulated times of small runs. A cost-model change shows up here as a failure; regenerate
// with `npm run golden -- --update` and review the printed diff.
const golden = JSON.parse(readFileSync(new URL('./golden-times.json', import.meta.url), 'utf8'));

describe('golden simulated times', () => {
  it('pins every configuration', () => {
    expect(Object.keys(golden)).toEqual(GOLDEN_CONFIGS.map((c) => c.name));
  });
  for (const c of GOLDEN_CONFIGS)
    it(c.name, () => {
      expect(goldenRecord(c)).toEqual(golden[c.name]);
    });
});
