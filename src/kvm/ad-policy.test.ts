import { describe, expect, it } from 'vitest';
import { AD_POLICIES, adPolicy, DEFAULT_AD_POLICY } from './ad-policy.ts';

describe('A/D policies', () => {
  it('has the four policies of issue 19, the default among them', () => {
    expect(AD_POLICIES.map((p) => p.name)).toEqual(['pre-6.13', '6.13', 'stevens-v11', 'no-dirty']);
    expect(adPolicy(DEFAULT_AD_POLICY)?.dirtyAtMap).toBe(true);
    expect(adPolicy('6.14')).toBeUndefined();
  });

  it('marks dirty somewhere in every policy but no-dirty', () => {
    const marks = AD_POLICIES.map((p) => [p.name, p.dirtyAtMap || p.dirtyOnZap]);
    expect(marks).toEqual([
      ['pre-6.13', true],
      ['6.13', true],
      ['stevens-v11', true],
      ['no-dirty', false],
    ]);
  });
});
