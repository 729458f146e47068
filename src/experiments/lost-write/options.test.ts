import { describe, expect, it } from 'vitest';
import { LostWriteOptionsError, resolveLostWriteOptions } from './options.ts';

describe('lost-write options', () => {
  it('defaults: every policy, both write-notify settings, 20 seeds of 1000 steps, 4 pages on a 256-page disk', () => {
    const o = resolveLostWriteOptions({});
    expect(o.policies.map((p) => p.name)).toEqual(['pre-6.13', '6.13', 'stevens-v11', 'no-dirty']);
    expect([o.writenotify, o.seeds, o.steps, o.pages, o.diskPages, o.mmu, o.eptAd, o.systematic]).toEqual([
      [true, false],
      20,
      1000,
      4,
      256,
      'tdp',
      false,
      false,
    ]);
  });

  it.each([
    [
      { policy: 'pre-6.13,bogus' },
      "unknown policy 'bogus' (known: pre-6.13, 6.13, stevens-v11, no-dirty, all)",
    ],
    [
      { pages: 300, diskPages: 200 },
      'the file backing (300 pages) is larger than the simulated disk (200 pages)',
    ],
    [{ mmu: 'ept' }, "--mmu must be one of tdp, shadow, not 'ept'"],
    [{ writenotify: 'maybe' }, "--writenotify must be on, off or both, not 'maybe'"],
    [{ depth: 13 }, "--depth must be an integer from 1 to 12, not '13'"],
  ])('refuses %j in one line', (raw, msg) => {
    expect(() => resolveLostWriteOptions(raw)).toThrow(new LostWriteOptionsError(msg));
  });
});
