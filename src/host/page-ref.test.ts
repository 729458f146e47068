import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { PG_HEAD, PG_TAIL } from './page-flags.ts';
import { PhysMem } from './phys-mem.ts';

/** Runs `body` on a thread of an engine with 16 MiB of physical memory. */
function onMem(body: (mem: PhysMem, t: SimThread) => void): void {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const mem = new PhysMem(engine, [4096]);
  engine.spawn('main', function* (t) {
    body(mem, t);
    if (t.mustSync()) yield;
  });
  engine.run();
}

describe('page reference counts', () => {
  it('the allocator sets the first page to 1, the rest of a block stays 0; holes and the zero page hold 1', () => {
    onMem((mem, t) => {
      expect(mem.refs.count[0]).toBe(1);
      expect(mem.refs.count[mem.zeroPfn]).toBe(1);
      const a = mem.allocPages(t, 0, 0);
      const b = mem.allocPages(t, 0, 9);
      expect([mem.refs.count[a], mem.refs.count[b], mem.refs.count[b + 1], mem.refs.count[b + 511]]).toEqual([
        1, 1, 0, 0,
      ]);
      expect(mem.refs.pfnValid(mem.maxPfn - 1)).toBe(true);
      expect(mem.refs.pfnValid(mem.maxPfn)).toBe(false);
    });
  });

  it('get_page and put_page on a compound folio go to its head; the owner frees at the last reference', () => {
    onMem((mem, t) => {
      const head = mem.allocPages(t, 0, 9);
      mem.flags[head] |= PG_HEAD;
      for (let i = 1; i < 512; i++) mem.flags[head + i] |= PG_TAIL;
      mem.refs.getPage(head + 7);
      expect(mem.refs.count[head]).toBe(2);
      expect(mem.refs.count[head + 7]).toBe(0);
      const free = mem.nodes[0].freePages();
      mem.freePages(head, 9); // the owner's reference goes, GUP's keeps the folio
      expect(mem.nodes[0].freePages()).toBe(free);
      expect(mem.refs.orphans.get(head)).toBe(9);
      mem.refs.putPage(head + 7); // the last reference frees it
      expect(mem.nodes[0].freePages()).toBe(free + 512);
      expect(mem.refs.count[head]).toBe(0);
      expect([mem.refs.taken, mem.refs.dropped, mem.refs.errors.length]).toEqual([1, 1, 0]);
    });
  });

  it('a non-compound block: get_page_unless_zero fails on a tail, get_page on it is reported with its trail', () => {
    onMem((mem, t) => {
      const head = mem.allocPages(t, 0, 9);
      expect(mem.refs.getPageUnlessZero(head)).toBe(true);
      expect(mem.refs.getPageUnlessZero(head + 1)).toBe(false);
      mem.refs.getPage(head + 1);
      mem.refs.putPage(head + 1);
      mem.refs.putPage(head + 1);
      expect(mem.refs.errors.map((e) => e.kind)).toEqual(['get-on-zero', 'freed-in-use', 'put-underflow']);
      expect(mem.refs.errors[2].trail.map((e) => `${e.op}:${e.count}`)).toEqual([
        'try_get failed:0',
        'get_page:1',
        'put_page:0',
        'put_page:0',
      ]);
      expect(mem.refs.freedInUse.has(head + 1)).toBe(true);
      expect(mem.refs.count[head + 1]).toBe(0);
    });
  });
});
