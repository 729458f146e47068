import { describe, expect, it } from 'vitest';
import { MemoryBandwidth } from './mem-bandwidth.ts';

describe('MemoryBandwidth', () => {
  it('lets a lone transfer run at its CPU speed', () => {
    const bw = new MemoryBandwidth(10); // 10 bytes/ns: 10,000 bytes per 1 µs bucket
    expect(bw.transfer(0, 4096, 500)).toBe(500);
    expect(bw.stallNs).toBe(0);
  });

  it('shares a bucket: once it is full, the rest waits for the next one', () => {
    const bw = new MemoryBandwidth(10);
    expect(bw.transfer(0, 4000, 400)).toBe(400);
    expect(bw.transfer(0, 4000, 400)).toBe(400);
    // 2,000 bytes left in [0, 1000): this one gets them, then 2,000 more from 1000 at 10 bytes/ns.
    expect(bw.transfer(0, 4000, 400)).toBe(1200);
    expect(bw.stallNs).toBe(800);
    expect(bw.bytes).toBe(12000);
  });

  it('does not charge a transfer older than the ring it remembers', () => {
    const bw = new MemoryBandwidth(1);
    bw.transfer(4_096_000, 1000, 1000); // bucket 4096 reuses the ring slot of bucket 0
    expect(bw.transfer(0, 100_000, 10)).toBe(10);
  });
});
