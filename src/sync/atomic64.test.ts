import { describe, expect, it } from 'vitest';
import { cmpxchg64, fetchAndLo } from './atomic64.ts';

describe('atomic64', () => {
  it('cmpxchg64 installs only over the expected value and leaves the word alone on failure', () => {
    const lo = new Uint32Array([5]);
    const words = new Uint32Array([0x80000000]);
    const hi = {
      get: (i: number) => words[i],
      set: (i: number, v: number) => {
        words[i] = v;
      },
    };
    expect(cmpxchg64(lo, hi, 0, 5, 0, 7, 1)).toBe(false);
    expect([lo[0], words[0]]).toEqual([5, 0x80000000]);
    expect(cmpxchg64(lo, hi, 0, 5, 0x80000000, 7, 1)).toBe(true);
    expect([lo[0], words[0]]).toEqual([7, 1]);
  });

  it('fetchAndLo returns the old low word', () => {
    const lo = new Uint32Array([0xfff]);
    expect(fetchAndLo(lo, 0, ~0x100)).toBe(0xfff);
    expect(lo[0]).toBe(0xeff);
  });
});
