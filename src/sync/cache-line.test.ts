import { describe, expect, it } from 'vitest';
import { CacheLine } from './cache-line.ts';

describe('CacheLine', () => {
  it('serialises RMWs and charges a transfer when the owner changes', () => {
    const l = new CacheLine(1, 10);
    expect(l.rmw(0, 0)).toBe(10);
    expect(l.rmw(0, 1)).toBe(20);
    expect(l.rmw(0, 2)).toBe(30);
    expect(l.rmw(100, 2)).toBe(101);
    expect(l.transfers).toBe(3);
  });

  it('places an RMW issued earlier than later ones into the gap before them', () => {
    const l = new CacheLine(1, 10);
    expect(l.rmw(0, 0)).toBe(10);
    expect(l.rmw(1000, 0)).toBe(1001);
    // Issued at 0 after the RMW at 1000 was placed: it goes into the gap [10, 1000).
    expect(l.rmw(0, 1)).toBe(20);
    expect(l.rmw(0, 2)).toBe(30);
    // Issued at 995: does not fit before 1000, so it waits for the RMW at [1000, 1001).
    expect(l.rmw(995, 3)).toBe(1011);
  });
});
