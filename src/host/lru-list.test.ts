import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruLinks } from './lru-list.ts';

function drain(pop: () => number): number[] {
  const out: number[] = [];
  for (let p = pop(); p >= 0; p = pop()) out.push(p);
  return out;
}

describe('LruLinks', () => {
  it('adds at both ends, takes from the tail, and unlinks a freed frame from the middle', () => {
    const links = new LruLinks(16);
    const a = links.newList();
    const b = links.newList();
    for (const p of [1, 2, 3, 4]) a.pushHead(p);
    b.pushHead(8);
    b.pushTail(9);
    links.unlink(2); // freed while on a
    links.unlink(7); // on no list: nothing happens
    expect(links.linked(3)).toBe(true);
    expect(links.linked(2)).toBe(false);
    expect(drain(() => a.popTail())).toEqual([1, 3, 4]);
    expect(drain(() => b.popTail())).toEqual([9, 8]);
    expect([a.head, a.tail, b.head, b.tail, a.empty]).toEqual([-1, -1, -1, -1, true]);
  });

  it('unlinks the head, the tail and the only element', () => {
    const links = new LruLinks(8);
    const l = links.newList();
    for (const p of [0, 1, 2]) l.pushHead(p);
    links.unlink(2);
    links.unlink(0);
    expect([l.head, l.tail]).toEqual([1, 1]);
    links.unlink(1);
    expect([l.head, l.tail]).toEqual([-1, -1]);
    l.pushTail(5);
    expect(drain(() => l.popTail())).toEqual([5]);
  });

  it('refuses to link a frame twice', () => {
    const links = new LruLinks(4);
    const a = links.newList();
    const b = links.newList();
    a.pushHead(1);
    expect(() => b.pushTail(1)).toThrow('pfn 1 is already on an LRU list');
  });

  it('behaves like a deque with deletions (property)', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('head' as const), l: fc.nat(2), p: fc.nat(31) }),
      fc.record({ k: fc.constant('tail' as const), l: fc.nat(2), p: fc.nat(31) }),
      fc.record({ k: fc.constant('pop' as const), l: fc.nat(2), p: fc.constant(0) }),
      fc.record({ k: fc.constant('del' as const), l: fc.constant(0), p: fc.nat(31) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const links = new LruLinks(32);
        const lists = [links.newList(), links.newList(), links.newList()];
        // Model: arrays from tail (index 0) to head.
        const model: number[][] = [[], [], []];
        const where = new Map<number, number>();
        for (const o of ops) {
          if (o.k === 'head' || o.k === 'tail') {
            if (where.has(o.p)) continue;
            where.set(o.p, o.l);
            if (o.k === 'head') {
              lists[o.l].pushHead(o.p);
              model[o.l].push(o.p);
            } else {
              lists[o.l].pushTail(o.p);
              model[o.l].unshift(o.p);
            }
          } else if (o.k === 'pop') {
            const got = lists[o.l].popTail();
            const want = model[o.l].shift() ?? -1;
            expect(got).toBe(want);
            where.delete(want);
          } else {
            links.unlink(o.p);
            const l = where.get(o.p);
            if (l !== undefined) model[l].splice(model[l].indexOf(o.p), 1);
            where.delete(o.p);
          }
        }
        for (let i = 0; i < 3; i++) expect(drain(() => lists[i].popTail())).toEqual(model[i]);
      }),
    );
  });
});
