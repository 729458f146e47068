import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PALETTE, SpteHiWords } from './spte-hi-words.ts';

const NONPRESENT_HI = 0x80000000;

describe('SpteHiWords', () => {
  it('a new table holds one word everywhere, and a few distinct words cost one byte per SPTE', () => {
    const w = new SpteHiWords(2);
    const bytesBefore = w.byteLength;
    expect(bytesBefore).toBe(2 * 512 + 2 * PALETTE * 4 + 2 + 2 * 4);
    w.reset(1, NONPRESENT_HI);
    expect(w.get(512)).toBe(NONPRESENT_HI);
    expect(w.get(1023)).toBe(NONPRESENT_HI);
    w.set(600, 0x06000003);
    w.set(601, 0x06000003);
    w.set(602, 0x02000000);
    expect([w.get(599), w.get(600), w.get(601), w.get(602)]).toEqual([
      NONPRESENT_HI,
      0x06000003,
      0x06000003,
      0x02000000,
    ]);
    expect(w.byteLength).toBe(bytesBefore);
  });

  it('reuses palette words no SPTE holds any more, and keeps a table in full when all are live', () => {
    const w = new SpteHiWords(1);
    w.reset(0, NONPRESENT_HI);
    // PALETTE - 1 more distinct words fill the palette; overwriting them frees their entries.
    for (let k = 1; k < PALETTE; k++) w.set(k, k);
    for (let k = 1; k < PALETTE; k++) w.set(k, NONPRESENT_HI);
    w.set(100, 0x1234);
    expect(w.get(100)).toBe(0x1234);
    expect(w.byteLength).toBe(512 + PALETTE * 4 + 1 + 4);
    // Now PALETTE + 1 distinct live words: the table goes wide, and every SPTE keeps its word.
    for (let k = 1; k <= PALETTE; k++) w.set(k, 0x10000 + k);
    expect(w.byteLength).toBe(512 + PALETTE * 4 + 1 + 4 + 4 * 512 * 4);
    for (let k = 1; k <= PALETTE; k++) expect(w.get(k)).toBe(0x10000 + k);
    expect([w.get(0), w.get(100), w.get(511)]).toEqual([NONPRESENT_HI, 0x1234, NONPRESENT_HI]);
    w.set(7, 0xdead);
    expect(w.get(7)).toBe(0xdead);
    // A table reset (freed and allocated again) leaves the wide block for the next table that needs one.
    w.reset(0, 0);
    expect([w.get(7), w.get(100)]).toEqual([0, 0]);
    w.set(3, 5);
    expect(w.get(3)).toBe(5);
  });

  it('keeps a table in full rather than compact it for fewer than four free words', () => {
    const w = new SpteHiWords(1);
    w.reset(0, 0);
    // 15 more distinct words fill the palette; two of them die, so 14 are live.
    for (let k = 1; k < PALETTE; k++) w.set(k, k);
    w.set(1, 0);
    w.set(2, 0);
    const palettized = w.byteLength;
    w.set(20, 0x99);
    expect(w.byteLength).toBe(palettized + 4 * 512 * 4);
    expect([w.get(1), w.get(3), w.get(15), w.get(20), w.get(21)]).toEqual([0, 3, 15, 0x99, 0]);
  });

  it('grow keeps every table word', () => {
    const w = new SpteHiWords(1);
    w.reset(0, 9);
    w.set(5, 11);
    w.grow(3);
    w.reset(2, 4);
    expect([w.get(5), w.get(6), w.get(1024 + 7)]).toEqual([11, 9, 4]);
  });

  it('reads back what an array of words would hold, for any sequence of writes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2 }),
            // Writes mostly to 24 SPTEs per table, with 31 words: the live words of a table wander
            // around PALETTE, so palettes fill, compact and overflow, and tables go wide and back.
            fc.oneof(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 511 })),
            fc.integer({ min: 0, max: 30 }),
            fc.integer({ min: 0, max: 99 }),
          ),
          { minLength: 2000, maxLength: 3000 },
        ),
        (writes) => {
          const w = new SpteHiWords(1);
          const ref = new Uint32Array(3 * 512);
          w.grow(3);
          for (let t = 0; t < 3; t++) w.reset(t, 0);
          for (const [t, j, v, roll] of writes) {
            // Now and then a table is freed and allocated again.
            if (roll === 0) {
              w.reset(t, 0x80000000);
              ref.fill(0x80000000, t * 512, t * 512 + 512);
              continue;
            }
            const word = (v * 0x01000001) >>> 0;
            w.set(t * 512 + j, word);
            ref[t * 512 + j] = word;
          }
          for (let i = 0; i < ref.length; i++) if (w.get(i) !== ref[i]) return false;
          return true;
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
  });
});
