import { describe, expect, it } from 'vitest';
import { LruLinks } from './lru-list.ts';

function drain(pop: () => number): number[] {
  const out: number[] = [];
  for (let p = pop(); p >= 0; p = pop()) out.push(p);
  return out;
}

describe('LruLinks', () => {
  it('keeps each frame on one list: a move takes it off the other, a free off any', () => {
    const links = new LruLinks(16);
    const a = links.newList();
    const b = links.newList();
    for (const p of [1, 2, 3, 4]) a.pushHead(p);
    b.pushHead(3); // list_move: 3 leaves a
    b.pushTail(9);
    links.unlink(2); // freed while on a
    links.unlink(7); // on no list: nothing happens
    expect(links.linked(3)).toBe(true);
    expect(links.linked(2)).toBe(false);
    expect(drain(() => a.popTail())).toEqual([1, 4]);
    expect(drain(() => b.popTail())).toEqual([9, 3]);
    expect([a.head, a.tail, b.head, b.tail]).toEqual([-1, -1, -1, -1]);
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
});
