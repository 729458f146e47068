import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleMmFault, VM_FAULT_OK } from '../../host/fault.ts';
import { followPteLockless } from '../../host/gup.ts';
import { Host } from '../../host/host.ts';
import { PG_REFERENCED } from '../../host/page-flags.ts';
import { PAGE_SIZE } from '../../host/page-table.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { tryToIncMaxSeq } from './aging.ts';
import { folioLruGen } from './gen-flags.ts';
import { LruGen } from './lru-gen.ts';
import { LRU_GEN_ANON, MAX_LRU_BATCH } from './lruvec.ts';
import { LruGenMmWalk } from './mm-walk.ts';

const MIB = 1 << 20;
const PUD_SIZE = 1 << 30;

/** One reset_batch_size as the spy saw it. */
interface Reset {
  batched: number;
  nextAddr: number;
  /** lrugen->nr_pages of anon generations 2 and 3, before and after the call. */
  before: number[];
  after: number[];
  /** Folios whose flags already say generation 3 when reset_batch_size starts. */
  flaggedGen3: number;
}

/**
 * An mm whose 64 MiB anonymous VMA straddles a PUD (1 GiB) boundary, with a 990 MiB VMA above it
 * that nothing faulted; `low` pages below the boundary and `high` pages above it faulted in, on the
 * LRU in generation 2 with PG_referenced (as folio_mark_accessed leaves them), their PTEs young.
 * One aging walk (try_to_inc_max_seq for max_seq 3, swappiness 60, force_scan); returns what each
 * reset_batch_size saw and the lock acquisitions of the walk.
 */
function walkAcrossPud(low: number, high: number) {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1, cpus: 2 });
  const host = new Host(engine, { nodePages: [32768] });
  const lg = new LruGen(host);
  const mm = host.createMm();
  // The filler is mapped first (top-down): the test VMA ends 32 MiB above a PUD boundary.
  const filler = mm.mmap(PUD_SIZE - 34 * MIB, 'anonymous');
  const vma = mm.mmap(64 * MIB, 'anonymous');
  const boundary = vma.start + 32 * MIB;
  const resets: Reset[] = [];
  const got = { resets, boundary, filler, mmap: 0, lru: 0, sizes: [] as number[], gen3: 0, ended: 0 };
  const pfns: number[] = [];
  const reset = LruGenMmWalk.prototype.resetBatchSize;
  vi.spyOn(LruGenMmWalk.prototype, 'resetBatchSize').mockImplementation(function (
    this: LruGenMmWalk,
    t: SimThread,
  ) {
    const sizes = () => [2, 3].map((g) => this.lruvec.nrPages[g * 2 + LRU_GEN_ANON]);
    const r: Reset = {
      batched: this.batched,
      nextAddr: this.nextAddr,
      before: sizes(),
      after: [],
      flaggedGen3: 0,
    };
    r.flaggedGen3 = pfns.filter((p) => folioLruGen(host.mem.flags[p]) === 3).length;
    reset.call(this, t);
    r.after = sizes();
    resets.push(r);
  });
  engine.spawn('main', function* (t) {
    const addrs = [
      ...Array.from({ length: low }, (_, i) => boundary - (i + 1) * PAGE_SIZE),
      ...Array.from({ length: high }, (_, i) => boundary + i * PAGE_SIZE),
    ];
    for (const a of addrs) {
      expect(handleMmFault(t, mm, a, true)).toBe(VM_FAULT_OK);
      pfns.push(followPteLockless(mm, a, false));
    }
    host.lru.drainAll(t);
    for (const p of pfns) host.mem.flags[p] |= PG_REFERENCED;
    const l = lg.lruvec(mm.memcg, 0);
    const lruLock = lg.lruLock(l);
    const mmap0 = mm.mmapLock.stats.readAcquired;
    const lru0 = lruLock.stats.writeAcquired;
    expect(yield* tryToIncMaxSeq(t, lg, l, l.maxSeq, 60, true)).toBe(true);
    got.mmap = mm.mmapLock.stats.readAcquired - mmap0;
    got.lru = lruLock.stats.writeAcquired - lru0;
    got.sizes = [2, 3].map((g) => l.nrPages[g * 2 + LRU_GEN_ANON]);
    got.gen3 = pfns.filter((p) => folioLruGen(host.mem.flags[p]) === 3).length;
    got.ended = l.maxSeq;
  });
  engine.run();
  return got;
}

describe('walk_mm rounds (mm/vmscan.c, 6.12-6.15)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('ends a round after the PUD where MAX_LRU_BATCH folios are batched; sizes move only in reset_batch_size', () => {
    const low = 2 * MAX_LRU_BATCH;
    const high = 1000;
    const g = walkAcrossPud(low, high);
    expect(g.boundary % PUD_SIZE).toBe(0);
    // Round 1 walks the PUD below the boundary (8192 folios promoted, batched >= MAX_LRU_BATCH):
    // -EAGAIN, to resume at the boundary. Round 2 walks the last PUD (the test VMA's upper half
    // and the filler) and finds no VMA after it. Each round takes mmap_lock once, and lru_lock once
    // for reset_batch_size; inc_max_seq takes lru_lock once more.
    expect(g.resets.map((r) => [r.batched, r.nextAddr])).toEqual([
      [low, g.boundary],
      [high, g.boundary],
    ]);
    expect([g.mmap, g.lru]).toEqual([2, 3]);
    // Until a round's reset_batch_size, the lruvec's sizes do not show the folios the round
    // promoted, though their flags already say generation 3; after it they do, exactly.
    expect(g.resets.map((r) => [r.flaggedGen3, r.before, r.after])).toEqual([
      [low, [low + high, 0], [high, low]],
      [low + high, [high, low], [0, low + high]],
    ]);
    // inc_max_seq then starts generation 4; every folio stays in 3 with its pages counted there.
    expect([g.ended, g.gen3, g.sizes]).toEqual([4, low + high, [0, low + high]]);
  });

  it('a round that ends after the last PUD with a full batch is followed by one that walks nothing', () => {
    const n = 2 * MAX_LRU_BATCH;
    const g = walkAcrossPud(n, n);
    // Round 2 also batched MAX_LRU_BATCH folios: -EAGAIN at the end of the last PUD; round 3 takes
    // mmap_lock, finds no VMA from there on, and has nothing to reset.
    const top = g.filler.end;
    expect(top % PUD_SIZE).toBe(0);
    expect(g.resets.map((r) => [r.batched, r.nextAddr])).toEqual([
      [n, g.boundary],
      [n, top],
    ]);
    expect([g.mmap, g.lru]).toEqual([3, 3]);
    expect([g.ended, g.gen3, g.sizes]).toEqual([4, 2 * n, [0, 2 * n]]);
  });
});
