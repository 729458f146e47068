import { describe, expect, it } from 'vitest';
import { CacheLine, type LineCosts } from './cache-line.ts';

const costs: LineCosts = { localNs: 1, transferNs: 10, remoteNs: 10, sharerNs: 0, socketOf: null };

describe('CacheLine', () => {
  it('serialises RMWs and charges a transfer when the owner changes', () => {
    const l = new CacheLine(costs);
    expect(l.rmw(0, 0)).toBe(10);
    expect(l.rmw(0, 1)).toBe(20);
    expect(l.rmw(0, 2)).toBe(30);
    expect(l.rmw(100, 2)).toBe(101);
    expect(l.transfers).toBe(3);
  });

  it('places an RMW issued earlier than later ones into the gap before them', () => {
    const l = new CacheLine(costs);
    expect(l.rmw(0, 0)).toBe(10);
    expect(l.rmw(1000, 0)).toBe(1001);
    // Issued at 0 after the RMW at 1000 was placed: it goes into the gap [10, 1000).
    expect(l.rmw(0, 1)).toBe(20);
    expect(l.rmw(0, 2)).toBe(30);
    // Issued at 995: does not fit before 1000, so it waits for the RMW at [1000, 1001).
    expect(l.rmw(995, 3)).toBe(1011);
  });

  it('charges a cross-socket pull more, and a pull past queued spinners more per spinner', () => {
    // CPUs 0 and 2 on socket 0, CPU 1 on socket 1.
    const socketOf = Uint8Array.of(0, 1, 0);
    const l = new CacheLine({ localNs: 1, transferNs: 10, remoteNs: 30, sharerNs: 5, socketOf });
    expect(l.rmw(0, 0)).toBe(10); // from nobody: an in-socket transfer
    expect(l.rmw(100, 1)).toBe(130); // from socket 0 to socket 1
    expect(l.rmw(200, 2)).toBe(230); // back to socket 0
    expect(l.rmw(300, 0)).toBe(310); // CPU 0 from CPU 2: same socket
    // A placed RMW far ahead, then two issued at 400: the second finds the first queued.
    expect(l.rmw(1000, 1)).toBe(1030);
    expect(l.rmw(400, 2)).toBe(410);
    expect(l.rmw(400, 0)).toBe(425); // after CPU 2's [400, 410): 10 + one queued sharer (5)
    expect(l.transfers).toBe(7);
  });
});
