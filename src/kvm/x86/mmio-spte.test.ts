import { describe, expect, it } from 'vitest';
import { KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS } from '../memslot-generation.ts';
import {
  checkMmioSpte,
  getMmioSpteAccess,
  getMmioSpteGeneration,
  getMmioSpteGfn,
  isMmioSpte,
  MMIO_SPTE_LAYOUTS,
  makeMmioSpte,
} from './mmio-spte.ts';
import { formatSpte, isShadowPresent, type Spte } from './spte.ts';

const V51 = MMIO_SPTE_LAYOUTS['v5.1'];
const V420 = MMIO_SPTE_LAYOUTS['v4.20'];
/** gfn of the local APIC page, 0xfee00000. */
const APIC_GFN = 0xfee00;

function mmio(layout = V51, gen = 0, gfn = APIC_GFN, access = 0): Spte {
  const s = { lo: 0, hi: 0 };
  makeMmioSpte(s, layout, gen, gfn, access);
  return s;
}

describe('MMIO SPTEs, today (spte.h: gen bits 0-7 -> 3-10, 8-18 -> 52-62)', () => {
  it('packs the generation into the kernel bit positions', () => {
    // 0x12345: low byte 0x45 << 3 = 0x228, bits 8-18 = 0x123 << 52; WX = 0x6; gpa 0x100000.
    const s = mmio(V51, 0x12345, 0x100);
    expect(formatSpte(s.lo, s.hi)).toBe('0x123000000010022e');
    // Every generation bit: 0xff << 3 = 0x7f8 and 0x7ff << 52 = 0x7ff0000000000000.
    const all = mmio(V51, 0x7ffff);
    expect(formatSpte(all.lo, all.hi)).toBe('0x7ff00000fee007fe');
    // The memslots' generation 4 (AS 0 after two updates): 4 << 3.
    const four = mmio(V51, 4);
    expect(formatSpte(four.lo, four.hi)).toBe('0xfee00026');
  });

  it('keeps 19 bits of the memslots generation, never the in-progress flag', () => {
    const s = mmio(V51, 2 ** 19 + 6);
    expect(getMmioSpteGeneration(V51, s.lo, s.hi)).toBe(6);
    const ip = mmio(V51, KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS + 6);
    expect([ip.lo, ip.hi]).toEqual([s.lo, s.hi]);
  });

  it('round-trips generation, gfn and access, and is not shadow-present', () => {
    // gpa 0x123456789000: bits 32-51 = 0x1234; gen 0xa5 << 3 = 0x528, 0x5a5 << 52.
    const s = mmio(V51, 0x5a5a5, 0x123456789, 0x7);
    expect(formatSpte(s.lo, s.hi)).toBe('0x5a5012345678952e');
    expect(getMmioSpteGeneration(V51, s.lo, s.hi)).toBe(0x5a5a5);
    expect(getMmioSpteGfn(s.lo, s.hi)).toBe(0x123456789);
    expect(getMmioSpteAccess(V51, s.lo)).toBe(0); // shadow_mmio_access_mask is 0 on EPT
    expect(isMmioSpte(V51, s.lo, s.hi)).toBe(true);
    expect(isShadowPresent(s.lo)).toBe(false);
  });

  it('is_mmio_spte: exactly W+X without R and without suppress-#VE', () => {
    expect(isMmioSpte(V51, 0x6, 0)).toBe(true);
    expect(isMmioSpte(V51, 0x7, 0)).toBe(false); // RWX: a present leaf's permissions
    expect(isMmioSpte(V51, 0x2, 0)).toBe(false);
    expect(isMmioSpte(V51, 0x6, 0x80000000)).toBe(false); // bit 63 set
    expect(isMmioSpte(V51, 0, 0x80000000)).toBe(false); // SHADOW_NONPRESENT_VALUE
    expect(isMmioSpte(V51, 0x5a0, 0x80000000)).toBe(false); // FROZEN_SPTE
  });

  it('check_mmio_spte: current generation only, and never while an update is in progress', () => {
    const s = mmio(V51, 8);
    expect(checkMmioSpte(V51, 8, false, s.lo, s.hi)).toBe(true);
    expect(checkMmioSpte(V51, 10, false, s.lo, s.hi)).toBe(false);
    expect(checkMmioSpte(V51, 8 + 2 ** 19, false, s.lo, s.hi)).toBe(true); // 19 bits: aliases after a wrap
    expect(checkMmioSpte(V51, 8 + KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS, true, s.lo, s.hi)).toBe(false);
  });
});

describe('MMIO SPTEs, v4.20 (gen bits 1-9 -> 3-11, 10-19 -> 52-61, SPTE_SPECIAL_MASK bit 62)', () => {
  it('packs the generation into the 2019 bit positions', () => {
    // (0xffffe & 0x3fe) << 2 = 0xff8; (0xffffe >> 10) << 52 = 0x3ff << 52; bit 62; WX.
    const s = mmio(V420, 0xffffe, APIC_GFN, 0x6);
    expect(formatSpte(s.lo, s.hi)).toBe('0x7ff00000fee00ffe');
    // The hack's start, 2^20 - 150 = 0xfff6a: (0x36a << 2) = 0xda8.
    const h = mmio(V420, 0xfff6a);
    expect(formatSpte(h.lo, h.hi)).toBe('0x7ff00000fee00dae');
    expect(getMmioSpteGeneration(V420, h.lo, h.hi)).toBe(0xfff6a);
    expect(getMmioSpteAccess(V420, s.lo)).toBe(0x6);
  });

  it('bit 0 of the generation (update in progress) is never stored, so it never matches', () => {
    const s = mmio(V420, 0xfff6b);
    expect(getMmioSpteGeneration(V420, s.lo, s.hi)).toBe(0xfff6a);
    expect(checkMmioSpte(V420, 0xfff6b, true, s.lo, s.hi)).toBe(false);
    expect(checkMmioSpte(V420, 0xfff6a, false, s.lo, s.hi)).toBe(true);
  });

  it('a v4.20 MMIO SPTE is not one for today’s masks, and the other way round', () => {
    const old = mmio(V420, 4);
    const now = mmio(V51, 4);
    expect(isMmioSpte(V51, old.lo, old.hi)).toBe(true); // bit 62 is a generation bit today
    expect(isMmioSpte(V420, now.lo, now.hi)).toBe(false); // bit 62 clear
  });
});
