import { describe, expect, it } from 'vitest';
import { ThreadSlices } from './thread-slices.ts';

/** A ThreadSlices whose written lines are collected as "ph name ts" (ts in ns). */
function slices(buffer = 1024): { th: ThreadSlices; lines: string[] } {
  const lines: string[] = [];
  const th = new ThreadSlices(
    1,
    2,
    (j) => {
      for (const part of j.split(',\n')) {
        const e = JSON.parse(part);
        lines.push(`${e.ph} ${e.name} ${Math.round(e.ts * 1000)}`);
      }
    },
    buffer,
  );
  return { th, lines };
}

const x = (th: ThreadSlices, name: string, s: number, e: number) =>
  th.insert(s, e, th.json('B', name, 'c', s), th.json('E', name, 'c', e));

describe('ThreadSlices', () => {
  it('puts a span reported at its end in front of the lines it encloses, and after a sibling ending at its start', () => {
    const { th, lines } = slices();
    th.begin('ept', 'EPT', 'kvm', 100, {}, true);
    expect(x(th, 'wait', 150, 180)).toBe(true);
    expect(x(th, 'wait2', 200, 210)).toBe(true);
    // handle_mm_fault [180, 300] encloses wait2 but not wait (which ended at its start).
    expect(x(th, 'fault', 180, 300)).toBe(true);
    th.end('ept', 400, undefined);
    th.finish(400);
    expect(lines).toEqual([
      'B EPT 100',
      'B wait 150',
      'E wait 180',
      'B fault 180',
      'B wait2 200',
      'E wait2 210',
      'E fault 300',
      'E EPT 400',
    ]);
  });

  it('refuses a span that overlaps another partially, or begins before a span still open', () => {
    const { th } = slices();
    expect(x(th, 'a', 100, 200)).toBe(true);
    expect(x(th, 'b', 150, 250)).toBe(false);
    th.begin('k', 'open', 'c', 300, {}, true);
    expect(x(th, 'c', 250, 350)).toBe(false);
    expect(x(th, 'd', 300, 350)).toBe(true);
    const xs = th.insert(260, 360, th.json('B', 'lw', 'c', 260), null);
    expect(xs).toBe(false);
  });

  it('refuses a span that begins before lines already written (the buffer is bounded)', () => {
    const { th, lines } = slices(4);
    for (let i = 0; i < 6; i++) x(th, `s${i}`, i * 10, i * 10 + 5);
    // 12 lines went in; past 4 the older half is written: 9 written, E s4 (45) and s5 kept.
    expect(lines.length).toBe(9);
    expect(x(th, 'late', 0, 100)).toBe(false);
    expect(x(th, 'ok', 50, 100)).toBe(true);
  });

  it('ends spans left open inside one that ends, and counts them', () => {
    const { th, lines } = slices();
    th.begin('outer', 'outer', 'c', 10, {}, true);
    th.begin('inner', 'inner', 'c', 20, {}, true);
    expect(th.end('outer', 30, undefined)?.name).toBe('outer');
    expect(th.end('inner', 40, undefined)).toBe(null);
    expect(th.forcedCloses).toBe(1);
    th.finish(50);
    expect(lines).toEqual(['B outer 10', 'B inner 20', 'E inner 30', 'E outer 30']);
  });
});
