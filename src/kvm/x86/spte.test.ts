import { describe, expect, it } from 'vitest';
import {
  formatSpte,
  isAccessedSpte,
  isAccessTrackSpte,
  makeNonleafSpte,
  makeSpte,
  markSpteForAccessTrack,
  restoreAccTrackSpte,
  type Spte,
  spteNeedsAtomicUpdate,
  sptePfn,
} from './spte.ts';

const s: Spte = { lo: 0, hi: 0 };

describe('EPT SPTE layout', () => {
  it('make_spte with A/D bits: present bit 11, RX, WB, A, W, D, host- and MMU-writable', () => {
    makeSpte(s, 0x12345, 1, true, true, true);
    expect(formatSpte(s.lo, s.hi)).toBe('0x600000012345b37');
    expect(isAccessedSpte(s.lo, s.hi)).toBe(true);
    expect(spteNeedsAtomicUpdate(s.lo, s.hi)).toBe(false);
  });

  it('make_spte for a read-only 2 MiB mapping without A/D bits', () => {
    makeSpte(s, 0x12345, 2, false, false, false);
    // 0x80 page size; no A; SPTE_TDP_AD_DISABLED in bits 52-53.
    expect(s.lo).toBe(0x123458b5);
    expect(s.hi).toBe(0x00100000);
    expect(isAccessedSpte(s.lo, s.hi)).toBe(true);
    expect(spteNeedsAtomicUpdate(s.lo, s.hi)).toBe(true);
  });

  it('keeps pfns above 2^32 in bits 12-51 across both words', () => {
    makeSpte(s, 0x123456789, 1, true, true, true);
    expect(s.lo >>> 12).toBe(0x56789);
    expect(s.hi & 0xfffff).toBe(0x1234);
    expect(sptePfn(s.lo, s.hi)).toBe(0x123456789);
  });

  it('mark_spte_for_access_track clears A only when A/D bits are on', () => {
    makeSpte(s, 0x10, 1, true, true, true);
    const out: Spte = { lo: 0, hi: 0 };
    markSpteForAccessTrack(out, s.lo, s.hi);
    expect(out.lo).toBe(s.lo & ~0x100);
    expect(out.hi).toBe(s.hi);
    expect(isAccessedSpte(out.lo, out.hi)).toBe(false);
  });

  it('mark_spte_for_access_track saves R and X in bits 54/56 and clears RWX; restore undoes it', () => {
    makeSpte(s, 0x10, 1, true, true, false);
    const tracked: Spte = { lo: 0, hi: 0 };
    markSpteForAccessTrack(tracked, s.lo, s.hi);
    expect(tracked.lo & 0x7).toBe(0);
    expect(tracked.hi).toBe(s.hi | (1 << 22) | (1 << 24));
    expect(isAccessTrackSpte(tracked.lo, tracked.hi)).toBe(true);
    expect(isAccessedSpte(tracked.lo, tracked.hi)).toBe(false);
    // Already tracked: unchanged.
    const again: Spte = { lo: 0, hi: 0 };
    markSpteForAccessTrack(again, tracked.lo, tracked.hi);
    expect(again).toEqual(tracked);
    const restored: Spte = { lo: 0, hi: 0 };
    restoreAccTrackSpte(restored, tracked.lo, tracked.hi);
    // W is not saved: it comes back only through a write fault.
    expect(restored.lo).toBe(s.lo & ~0x2);
    expect(restored.hi).toBe(s.hi);
  });

  it('make_nonleaf_spte points at the child table with RWX and A', () => {
    makeNonleafSpte(s, 7, true);
    expect(s.lo).toBe(0x7000 | 0x800 | 0x100 | 0x7);
    expect(s.hi).toBe(0);
  });
});
