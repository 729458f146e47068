import { describe, expect, it } from 'vitest';
import { loadProfile, zeroProfile } from '../../sim/profile.ts';
import { pageFaultCpus, runPageFault } from './page-fault.ts';

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

describe('micro page-fault (will-it-scale page_fault1)', () => {
  it('one task: mmap, one write fault per page, munmap, each at its cost', () => {
    const p = zeroProfile({ syscallNs: 100, hostFaultNs: 1000, pageZeroNsPer4K: 200 });
    const r = runPageFault({ threads: 1, mode: 'process', memsize: 16 * 4096 }, p);
    expect(r.faults).toBe(16);
    expect(r.perTaskOps).toEqual([16]);
    // mmap and munmap: a system call each; each page: exception entry/exit, the fault, clear_page.
    expect(r.elapsedNs).toBe(2 * 100 + 16 * (100 + 1000 + 200));
    expect(r.pagesPerSec).toBe((16 / r.elapsedNs) * 1e9);
    expect(r.time.threads[0].categories).toEqual({
      'host fault': 16000,
      'page zeroing': 3200,
      'page fault entry/exit': 1600,
      syscall: 200,
    });
    // One gather of 16 pages, flushed locally: no IPI.
    expect([r.tlbFlushes, r.tlbFlushIpis]).toEqual([1, 0]);
  });

  it('2 threads x 2 MiB x 2 iterations on x86-tdp: exact counters and simulated times', () => {
    const r = runPageFault({ threads: 2, mode: 'thread', memsize: 2 << 20, iterations: 2 }, 'x86-tdp');
    expect(r.cpus).toEqual([0, 1]);
    expect(r.perTaskOps).toEqual([1024, 1024]);
    expect(r.faults).toBe(2048);
    // One gather per munmap (512 pages < MMU_GATHER_MAX_PAGES); it IPIs the other task's CPU only
    // while that task runs (not while it sleeps on mmap_lock, nor once it has exited).
    expect([r.tlbFlushes, r.tlbFlushIpis]).toEqual([4, 2]);
    // A write lock of task 0 found task 1's zap under way and slept; one fault of task 1 queued
    // behind a writer of task 0.
    expect([r.readersQueued, r.writersQueued]).toEqual([1, 1]);
    expect(r.elapsedNs).toBe(1_806_164);
    expect(r.time.threads.map((t) => t.elapsedNs)).toEqual([1_806_164, 1_721_956]);
    expect(r.time.threads[0].categories['wait mmap_lock (writer waits for munmap)']).toBe(82_768);
    const mmapLock = r.time.locks.find((l) => l.lock === 'mm1000.mmap_lock');
    // Per task and iteration: the faults' read holds, mmap's write, munmap's write and its downgraded read.
    expect(mmapLock?.acquired).toBe(2048 + 2 * 2 * 3);
    // 5.13-rc1's mm_struct keeps mmap_lock's owner in the count's line: no line of its own.
    expect(r.time.lines.some((l) => l.line === 'mm1000.mmap_lock.owner')).toBe(false);
  });

  it('per-VMA fault locks keep the faults off mmap_lock', () => {
    const r = runPageFault(
      { threads: 2, mode: 'thread', memsize: 2 << 20, iterations: 2, faultLock: 'per-vma' },
      'x86-tdp',
    );
    expect(r.faults).toBe(2048);
    expect(r.time.locks.find((l) => l.lock === 'mm1000.mmap_lock')?.acquired).toBe(2 * 2 * 3);
    const vmaLines = r.time.lines.filter((l) => l.line.endsWith('.vm_lock'));
    // Per fault: vma_start_read's down_read_trylock reads the count and cmpxchg's it (5.16+), and
    // vma_end_read's up_read: three accesses, none failed (each task has its own VMA).
    expect(vmaLines.map((l) => l.accesses)).toEqual([3 * 1024, 3 * 1024]);
    expect(r.readersQueued).toBe(0);
    // A 6.4+ mm_struct keeps mmap_lock's owner in a line of its own: mmap's and munmap's write
    // acquisitions store it, pulling it from the other task's CPU; the clears and the downgrade's
    // store find it owned. 20 accesses: the write holds' sets and clears (16 stores) and the
    // downgrades' load then store (4); six of them pull the line.
    const owner = r.time.lines.find((l) => l.line === 'mm1000.mmap_lock.owner');
    expect([owner?.accesses, owner?.transfers]).toEqual([20, 6]);
  });

  it("6.2's mmap_lock path: the trylock reads the count first and the owner has a line of its own", () => {
    const o = { threads: 2, mode: 'thread' as const, memsize: 2 << 20, iterations: 2 };
    const old = runPageFault(o, 'x86-tdp');
    const r = runPageFault({ ...o, kernel: '6.2' }, 'x86-tdp');
    expect([old.kernel, r.kernel]).toEqual(['5.13', '6.2']);
    expect(r.faults).toBe(2048);
    const lines = (x: typeof r) =>
      x.time.lines
        .filter((l) => l.line.startsWith('mm1000.mmap_lock'))
        .map((l) => [l.line, l.accesses, l.transfers]);
    // 5.13: the count's line takes each fault's cmpxchg, up_read's add and the owner stores.
    expect(lines(old)).toEqual([['mm1000.mmap_lock', 6079, 2055]]);
    // 6.2: a load before each cmpxchg, and the owner in a line of its own that every acquisition
    // loads then stores: that line is pulled from the other task's CPU 1876 times, but the tasks
    // run on past those accesses (only their next locked RMW waits), so the run takes as long.
    expect(lines(r)).toEqual([
      ['mm1000.mmap_lock', 6196, 2088],
      ['mm1000.mmap_lock.owner', 2068, 1876],
    ]);
    expect([old.elapsedNs, r.elapsedNs]).toEqual([1_806_164, 1_808_564]);
    expect(() => runPageFault({ ...o, kernel: '6.2', faultLock: 'per-vma' }, 'x86-tdp')).toThrow(
      "--kernel: the per-VMA lock path runs today's kernel",
    );
  });

  it('THP: one huge fault per 2 MiB, the other writes do not fault; munmap zaps and frees each folio', () => {
    const p = zeroProfile({
      syscallNs: 100,
      hostFaultNs: 1000,
      pageZeroNsPer4K: 200,
      ptWalkLevelNs: 5,
      pageAllocNs: 10,
      lruMoveFolioNs: 10,
    });
    const r = runPageFault({ threads: 1, mode: 'process', memsize: 4 << 20, thp: true }, p);
    expect(r.perTaskOps).toEqual([1024]);
    expect(r.faults).toBe(2);
    expect(r.thp).toEqual({ hugeFaults: 2, pageFaults: 0, writesWithoutFault: 1022, foliosFreed: 2 });
    // Per huge fault: entry/exit, handle_mm_fault, a 3-level walk, alloc_pages(order 9) under
    // zone->lock, clear_huge_page (512 x clear_page), folio_add_lru draining at once (a large
    // folio: one lruMoveFolioNs) under lru_lock. munmap: per PMD leaf a 3-level walk, off the LRU
    // (lruMoveFolioNs) and the order-9 free under zone->lock.
    const fault = 100 + 1000 + 3 * 5 + 10 + 512 * 200 + 10;
    const munmap = 100 + 2 * (3 * 5) + 2 * (10 + 10);
    expect(r.elapsedNs).toBe(100 + 2 * fault + munmap);
    expect(r.elapsedNs).toBe(207_340);
    expect(r.pagesPerSec).toBe((1024 / 207_340) * 1e9);
    expect(r.time.threads[0].categories).toEqual({
      'page zeroing': 2 * 512 * 200,
      'host fault': 2 * (1000 + 15 + 10 + 10),
      'page fault entry/exit': 200,
      syscall: 200,
      munmap: 2 * 15 + 2 * 20,
    });
    // zone->lock: two allocations and two frees; lru_lock: two adds and two deletions.
    expect(r.time.locks.map((l) => [l.lock, l.acquired])).toEqual([
      ['mm1000.mmap_lock', 2 + 1 + 2],
      ['lruvec1.0.lru_lock', 4],
      ['zone0.lock', 4],
    ]);
    expect([r.tlbFlushes, r.tlbFlushIpis]).toEqual([1, 0]);
  });

  it('THP: 2 threads x 4 MiB on seed003-x86: exact counters and simulated time', () => {
    const r = runPageFault({ threads: 2, mode: 'thread', memsize: 4 << 20, thp: true }, 'seed003-x86');
    expect(r.perTaskOps).toEqual([1024, 1024]);
    expect(r.faults).toBe(4);
    expect(r.thp).toEqual({ hugeFaults: 4, pageFaults: 0, writesWithoutFault: 2044, foliosFreed: 4 });
    expect(r.elapsedNs).toBe(518_894);
    expect(r.time.threads.map((t) => t.elapsedNs)).toEqual([517_834, 518_894]);
    // clear_huge_page is nearly all of it; two CPUs' zeroing is far below the node's bandwidth.
    expect(r.time.threads.map((t) => t.categories['page zeroing'])).toEqual([512_464, 503_415]);
    expect(r.time.threads[0].categories['memory bandwidth']).toBe(1);
    // Task 1's munmap found task 0's last huge fault still holding mmap_lock for read (through
    // its clear) and slept until it left.
    expect(r.time.threads[1].categories['wait mmap_lock (writer waits for a fault)']).toBe(9116);
    expect(r.writersQueued).toBe(1);
    // One flush per munmap; task 0's IPIs task 1, which was still running.
    expect([r.tlbFlushes, r.tlbFlushIpis]).toEqual([2, 1]);
    for (const t of r.time.threads) expect(sum(t.categories)).toBe(t.elapsedNs);
  });

  it('THP under mmap_lock: the fault holds it across its clear, and lru_lock and zone->lock still go in time order', () => {
    const r = runPageFault(
      { threads: 8, mode: 'thread', memsize: 8 << 20, iterations: 2, thp: true },
      'seed003-x86',
    );
    expect(r.elapsedNs).toBe(2_412_667);
    // A huge page's LRU add and delete hold lru_lock for one folio's move (80 ns): no thread waits.
    expect(r.time.locks.map((l) => [l.lock, l.acquired, l.waitNs])).toEqual([
      ['mm1000.mmap_lock', 112, 0],
      ['zone0.lock', 128, 0],
      ['lruvec1.0.lru_lock', 128, 0],
    ]);
    const c = r.time.classes[0].categories;
    // rwsem semantics: mmap and munmap wait for the faults in their clears, faults behind them.
    expect([
      c['wait mmap_lock (writer waits for a fault)'],
      c['wait mmap_lock (reader queued behind writer)'],
    ]).toEqual([2_172_309, 204_072]);
  });

  it('THP with per-VMA locks: a huge fault lets the others catch up after its clear, so lru_lock and zone->lock go in time order', () => {
    const r = runPageFault(
      { threads: 8, mode: 'thread', memsize: 8 << 20, iterations: 2, thp: true, faultLock: 'per-vma' },
      'seed003-x86',
    );
    expect(r.thp).toEqual({ hugeFaults: 64, pageFaults: 0, writesWithoutFault: 32_704, foliosFreed: 64 });
    expect(r.elapsedNs).toBe(2_091_580);
    // 64 huge allocations and 64 frees each; no thread waits for a release that has not happened:
    // the one lru_lock wait (155 ns) is for a hold that overlaps the waiter's own time.
    expect(r.time.locks.map((l) => [l.lock, l.acquired, l.waitNs])).toEqual([
      ['mm1000.mmap_lock', 48, 0],
      ['lruvec1.0.lru_lock', 128, 155],
      ['zone0.lock', 128, 0],
    ]);
    expect(r.time.classes[0].categories['page zeroing']).toBe(16_349_311);
  });

  it('every task time adds up exactly to its elapsed time', () => {
    for (const o of [
      { threads: 4, mode: 'thread', memsize: 1 << 20, iterations: 3 },
      { threads: 4, mode: 'process', memsize: 1 << 20, iterations: 3 },
      { threads: 3, mode: 'thread', memsize: 1 << 20, iterations: 2, faultLock: 'per-vma' },
      { threads: 3, mode: 'thread', memsize: 4 << 20, iterations: 2, thp: true },
      { threads: 3, mode: 'process', memsize: 2 << 20, iterations: 2, thp: true, faultLock: 'per-vma' },
    ] as const) {
      const r = runPageFault(o, 'bdw-2650v4');
      expect(r.time.threads).toHaveLength(o.threads);
      for (const t of r.time.threads) expect([t.thread, sum(t.categories)]).toEqual([t.thread, t.elapsedNs]);
      expect(Math.max(...r.time.threads.map((t) => t.elapsedNs))).toBe(r.elapsedNs);
    }
  });

  it('is deterministic', () => {
    const o = { threads: 3, mode: 'thread', memsize: 1 << 20 } as const;
    expect(JSON.stringify(runPageFault(o, 'seed003-x86'))).toBe(
      JSON.stringify(runPageFault(o, 'seed003-x86')),
    );
  });

  it('pins task i to CPU i: socket 0 cores, socket 1 cores, then SMT siblings', () => {
    const p = loadProfile('bdw-2650v4');
    expect(pageFaultCpus(p, 48)).toEqual(Array.from({ length: 48 }, (_, i) => i));
  });

  it('refuses bad options with one line', () => {
    const p = loadProfile('bdw-2650v4');
    expect(() => runPageFault({ threads: 0, mode: 'thread' }, p)).toThrow(
      '--threads must be a whole number >= 1',
    );
    expect(() => runPageFault({ threads: 49, mode: 'thread' }, p)).toThrow('profile bdw-2650v4 has 48 CPUs');
    expect(() => runPageFault({ threads: 1, mode: 'fork' as 'thread' }, p)).toThrow(
      "--mode must be one of thread, process, not 'fork'",
    );
    expect(() => runPageFault({ threads: 1, mode: 'thread', memsize: 1000 }, p)).toThrow(
      '--memsize must be a positive multiple of the 4 KiB page size, not 1000',
    );
    expect(() => runPageFault({ threads: 1, mode: 'thread', memsize: 3 << 20, thp: true }, p)).toThrow(
      '--memsize must be a multiple of the 2 MiB huge page size with --thp, not 3145728',
    );
    expect(() => runPageFault({ threads: 1, mode: 'thread', iterations: 0 }, p)).toThrow('--iterations');
    expect(() => runPageFault({ threads: 128, mode: 'process', memsize: 4096 }, 'seed003-x86')).toThrow(
      'process mode runs at most 127 processes',
    );
  });
});

describe('micro page-fault --test page_fault2/3 (a file, page cache warm)', () => {
  it('one task: a warm-up iteration reads the file in, the counted one hits the page cache', () => {
    const p = zeroProfile({ syscallNs: 100, hostFaultNs: 1000, filemapFaultNs: 300, fileReadNs: 5000 });
    const r = runPageFault({ test: 'page_fault3', threads: 1, mode: 'process', memsize: 16 * 4096 }, p);
    expect([r.test, r.iterations, r.faults, r.perTaskOps]).toEqual(['page_fault3', 2, 32, [16]]);
    // Warm-up: mmap and munmap, and per page the trap, the fault, its file work and the read.
    expect(r.warmedUpNs).toBe(2 * 100 + 16 * (100 + 1000 + 300 + 5000));
    // Counted: the same without the reads; munmap frees nothing (no page zeroing either).
    expect(r.elapsedNs).toBe(r.warmedUpNs + 2 * 100 + 16 * (100 + 1000 + 300));
    expect(r.pagesPerSec).toBe((16 / (r.elapsedNs - r.warmedUpNs)) * 1e9);
    expect(r.file).toEqual({ pageCacheMisses: 16, pageCacheHits: 16 });
    expect(r.time.threads[0].categories).toEqual({
      'host fault': 32 * 1300 + 16 * 5000,
      'page fault entry/exit': 3200,
      syscall: 400,
    });
  });

  it('2 threads x 2 MiB on x86-tdp: the counted iterations start together; exact counters and times', () => {
    const r = runPageFault({ test: 'page_fault3', threads: 2, mode: 'thread', memsize: 2 << 20 }, 'x86-tdp');
    expect([r.faults, r.perTaskOps, r.file]).toEqual([
      2048,
      [512, 512],
      { pageCacheMisses: 1024, pageCacheHits: 1024 },
    ]);
    expect([r.warmedUpNs, r.elapsedNs]).toEqual([11_282_723, 11_923_568]);
    expect(r.time.threads.map((t) => t.elapsedNs)).toEqual([11_908_180, 11_923_568]);
    expect(r.pagesPerSec).toBe((1024 / (11_923_568 - 11_282_723)) * 1e9);
    // One gather per munmap, one IPI to the other task's CPU while it ran; two mmap/munmap writers
    // waited for the other task's zap.
    expect([r.tlbFlushes, r.tlbFlushIpis, r.readersQueued, r.writersQueued]).toEqual([4, 1, 0, 2]);
  });

  it('page_fault2 (MAP_PRIVATE): each write copies the cached page into a new anonymous folio, which munmap frees', () => {
    const p = zeroProfile({
      syscallNs: 100,
      hostFaultNs: 1000,
      filemapFaultNs: 300,
      fileReadNs: 5000,
      pageZeroNsPer4K: 200,
    });
    const r = runPageFault({ test: 'page_fault2', threads: 1, mode: 'process', memsize: 16 * 4096 }, p);
    expect([r.test, r.faults, r.perTaskOps, r.file]).toEqual([
      'page_fault2',
      32,
      [16],
      { pageCacheMisses: 16, pageCacheHits: 16 },
    ]);
    // Warm-up: per page the trap, the fault, the read into a cleared page-cache folio, the file work
    // and the copy (at clear_page's speed); counted: the same without the read and its clear.
    expect(r.warmedUpNs).toBe(2 * 100 + 16 * (100 + 1000 + 5000 + 200 + 300 + 200));
    expect(r.elapsedNs).toBe(r.warmedUpNs + 2 * 100 + 16 * (100 + 1000 + 300 + 200));
    expect(r.time.threads[0].categories).toEqual({
      'host fault': 32 * 1300 + 16 * 5000,
      'page copy': 32 * 200,
      'page zeroing': 16 * 200,
      'page fault entry/exit': 3200,
      syscall: 400,
    });
  });

  it('refuses what page_fault3 cannot run with one line', () => {
    const o = { test: 'page_fault3' as const, threads: 1, mode: 'thread' as const };
    expect(() => runPageFault({ ...o, thp: true, memsize: 2 << 20 }, 'x86-tdp')).toThrow(
      '--thp: page_fault3 maps a regular file, whose folios are 4 KiB here',
    );
    expect(() => runPageFault({ ...o, faultLock: 'per-vma' }, 'x86-tdp')).toThrow(
      '--fault-lock per-vma: file faults under the VMA lock are not modelled',
    );
    expect(() => runPageFault({ ...o, iterations: 1 }, 'x86-tdp')).toThrow(
      '--iterations must be >= 2 with page_fault3 (the first fills the page cache and is not counted), not 1',
    );
    expect(() => runPageFault({ ...o, test: 'page_fault4' as 'page_fault3' }, 'x86-tdp')).toThrow(
      "--test must be one of page_fault1, page_fault2, page_fault3, not 'page_fault4'",
    );
    expect(() => runPageFault({ ...o, test: 'page_fault2', iterations: 1 }, 'x86-tdp')).toThrow(
      '--iterations must be >= 2 with page_fault2',
    );
  });
});
