import { describe, expect, it } from 'vitest';
import { MicroOptionsError } from './micro-options.ts';
import { runPft } from './pft.ts';

const MiB = 2 ** 20;

describe('runPft', () => {
  it('faults every page of the region once, each worker its slice, placed by the scheduler', () => {
    const { time, ...r } = runPft({ threads: 2, kernel: '5.12', memsize: 8 * MiB });
    expect(r).toEqual({
      profile: 'skx-2s-112',
      threads: 2,
      kernel: '5.12',
      pages: 2048,
      pagesPerThread: 1024,
      // Forked next to the launch thread: the node is not 3 CPUs busier than the other yet.
      cpus: [0, 1],
      threadsPerSocket: [2, 0],
      elapsedNs: 1735989,
      faultsPerSec: 1179730.9775580375,
      // 5.12's first cmpxchg expects an unlocked count: it fails whenever the other worker is inside.
      trylockRetries: 2032,
    });
    // down_read and up_read per fault, and one more RMW per failed cmpxchg; `owner` shares the line.
    expect(time.lines.find((l) => l.line === 'mm1000.mmap_lock')).toMatchObject({
      accesses: 2 * 2048 + 2032,
    });
    expect(time.lines.find((l) => l.line === 'mm1000.mmap_lock.owner')).toBeUndefined();
  });

  it("6.2's trylock reads the count first, and its owner store pulls a line of its own", () => {
    const r = runPft({ threads: 2, kernel: '6.2', memsize: 8 * MiB });
    expect([r.elapsedNs, r.trylockRetries]).toEqual([1736029, 0]);
    expect(r.time.lines.find((l) => l.line === 'mm1000.mmap_lock.owner')).toBeDefined();
  });

  it('rounds the region up to whole pages per worker, as pft does', () => {
    const r = runPft({ threads: 3, memsize: 8 * MiB });
    expect([r.pages, r.pagesPerThread, r.elapsedNs]).toEqual([2049, 683, 1184454]);
  });

  it('refuses bad options in one line before it simulates', () => {
    const bad = (o: Parameters<typeof runPft>[0], msg: string) => {
      expect(() => runPft(o)).toThrow(MicroOptionsError);
      expect(() => runPft(o)).toThrow(msg);
    };
    bad({ threads: 0 }, '--threads must be a whole number >= 1, not 0');
    bad({ threads: 113 }, '--threads 113: profile skx-2s-112 has 112 CPUs');
    bad({ threads: 2, kernel: '6.9' as '6.2' }, "--kernel must be one of 5.12, 6.2 for pft, not '6.9'");
    bad(
      { threads: 2, memsize: 1000 },
      '--memsize must be a positive multiple of the 4 KiB page size, not 1000',
    );
  });
});
