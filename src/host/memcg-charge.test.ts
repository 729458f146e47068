import { describe, expect, it } from 'vitest';
import type { CacheLine } from '../sim/cache-line.ts';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import { MemcgTree } from './memcg.ts';
import { MEMCG_CHARGE_BATCH, MemcgCharge, UnchargeGather } from './memcg-charge.ts';

/** Two CPUs; a local access costs 1 ns, pulling a line from the other CPU (or memory) 10. */
function setup() {
  const e = new Engine({
    profile: zeroProfile({ cacheLineLocalNs: 1, cacheLineTransferNs: 10 }),
    seed: 1,
    cpus: 2,
  });
  const tree = new MemcgTree();
  const test = tree.create('/test', tree.root);
  const other = tree.create('/other', tree.root);
  const mc = new MemcgCharge(e, tree);
  const line = (name: string): CacheLine => e.lines.find((l) => l.name === name)!;
  return { e, tree, test, other, mc, line };
}

describe('MemcgCharge: per-CPU stocks in front of the page_counters', () => {
  it('charges a batch to the counters up to the root once per MEMCG_CHARGE_BATCH pages, the rest from the stock', () => {
    const { e, test, mc, line } = setup();
    let end = 0;
    e.spawn('a', function* (t) {
      for (let i = 0; i < 100; i++) mc.charge(t, test, 1);
      end = t.now;
      yield;
    });
    e.run();
    expect(MEMCG_CHARGE_BATCH).toBe(64);
    // Charges 1 and 65 refill the stock; the other 98 take a page from it.
    expect([mc.stats.counterCharges, mc.stats.stockHits, mc.stats.stockDrains]).toEqual([2, 98, 0]);
    // memcg 2 (/test) and its parent, the root (memcg 1): an atomic add on each usage line per refill.
    expect([line('memcg2.memory.usage').accesses, line('memcg1.memory.usage').accesses]).toEqual([2, 2]);
    // The watermark line: filled by the first refill's load, then owned (the second refill's store
    // is free): two accesses, one transfer.
    expect([line('memcg2.memory.watermark').accesses, line('memcg1.memory.watermark').accesses]).toEqual([
      2, 2,
    ]);
    // First refill: four lines filled at 10 ns; the second: two local adds.
    expect(end).toBe(42);
  });

  it('pulls the counter lines from the CPU that charged last; a large folio bypasses the stock; the root is free', () => {
    const { e, tree, test, mc, line } = setup();
    const ends: number[] = [];
    e.spawn('a', function* (t) {
      mc.charge(t, test, 1);
      ends.push(t.now);
      yield;
    });
    e.spawn('b', function* (t) {
      t.advance(100);
      yield;
      mc.charge(t, test, 1);
      ends.push(t.now);
      mc.charge(t, test, 512);
      mc.charge(t, tree.root, 512);
      ends.push(t.now);
    });
    e.run();
    // a fills the four lines: each usage RMW (10) waits for the watermark store before it to drain
    // (a locked RMW drains the store buffer), so a ends at 30 with its last store in flight (30-40).
    // b's refill pulls both usage lines (10 each) and both watermark lines (a load, then an upgrade:
    // 20 each, buffered): 100-110, 110-130, 130-140, 140-160. Its THP charge's first RMW waits for
    // that last store (160), then adds locally twice (162).
    expect(ends).toEqual([30, 140, 162]);
    expect(line('memcg2.memory.usage').transfers).toBe(2);
    // The THP charge went to the counters (2 local adds, watermarks owned) and left the stock alone.
    expect([mc.stats.counterCharges, mc.stats.stockHits]).toEqual([3, 0]);
  });

  it('drains a stock that caches another memcg before refilling it', () => {
    const { e, test, other, mc, line } = setup();
    e.spawn('a', function* (t) {
      mc.charge(t, test, 1);
      mc.charge(t, other, 1);
      mc.charge(t, other, 1);
      yield;
    });
    e.run();
    expect([mc.stats.counterCharges, mc.stats.stockDrains, mc.stats.stockHits]).toEqual([2, 1, 1]);
    // /test: charged once, its 63-page stock uncharged; the root: both charges and the uncharge.
    expect([line('memcg2.memory.usage').accesses, line('memcg3.memory.usage').accesses]).toEqual([2, 1]);
    expect(line('memcg1.memory.usage').accesses).toBe(3);
  });
});

describe('UnchargeGather: one uncharge_batch per batch of frees and per run of one memcg', () => {
  it('uncharges at each full batch, at a change of memcg and at the end, and never the root', () => {
    const { e, tree, test, other, mc, line } = setup();
    e.spawn('a', function* (t) {
      mc.charge(t, test, 1);
      mc.charge(t, other, 1);
      const before = line('memcg2.memory.usage').accesses;
      const ug = new UnchargeGather(mc, 3);
      for (let i = 0; i < 7; i++) ug.add(t, test.id, 1);
      ug.flush(t);
      expect(line('memcg2.memory.usage').accesses - before).toBe(3);
      ug.add(t, test.id, 1);
      ug.add(t, other.id, 512);
      ug.add(t, tree.root.id, 1);
      ug.flush(t);
      yield;
    });
    e.run();
    // 7 folios in batches of 3: 3 calls; then /test, /other (the root's run uncharges nothing).
    expect(mc.stats.uncharges).toBe(5);
  });
});
