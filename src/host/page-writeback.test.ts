import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { handleMmFault, VM_FAULT_OK } from './fault.ts';
import { Host } from './host.ts';
import type { Mm } from './mm.ts';
import { type MmuNotifierRange, mmuNotifierRegister } from './mmu-notifier.ts';
import { PG_DIRTY } from './page-flags.ts';
import { PAGE_SIZE, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_WRITE, ptePfn } from './page-table.ts';
import { writeCachePages } from './page-writeback.ts';
import type { Vma } from './vma.ts';
import { shrinkFileFolio } from './vmscan-file.ts';

/** Runs `body` on a host with a 4-page MAP_SHARED regular file mapped (write notification as given). */
function onFile(writenotify: boolean, body: (t: SimThread, mm: Mm, vma: Vma, log: string[]) => void): void {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1, cpus: 1 });
  const host = new Host(engine, { nodePages: [1024] });
  const mm = host.createMm();
  const vma = mm.mmap(4 * PAGE_SIZE, 'file');
  vma.file!.writenotify = writenotify;
  const log: string[] = [];
  // A secondary MMU that records each invalidation and the PTE it finds when called.
  mmuNotifierRegister(mm, {
    invalidateRangeStart: (_t, r: MmuNotifierRange) => {
      log.push(`start ${r.event} ${pte(mm, vma, (r.start - vma.start) / PAGE_SIZE)}`);
      return 0;
    },
    invalidateRangeEnd: (_t, r: MmuNotifierRange) => {
      log.push(`end ${r.event} ${pte(mm, vma, (r.start - vma.start) / PAGE_SIZE)}`);
    },
    clearFlushYoung: () => false,
  });
  // biome-ignore lint/correctness/useYield: the body runs without waiting for another thread.
  engine.spawn('main', function* (t) {
    body(t, mm, vma, log);
  });
  engine.run();
}

/** The PTE of page `off`: rw/ro, +d, +a, or none. */
function pte(mm: Mm, vma: Vma, off: number): string {
  const idx = mm.pt.walk(mm.pgd, vma.start / PAGE_SIZE + off, 1, false);
  const e = idx >= 0 ? mm.pt.entries[idx] : 0;
  if (!(e & PTE_PRESENT)) return 'none';
  return `${e & PTE_WRITE ? 'rw' : 'ro'}${e & PTE_DIRTY ? '+d' : ''}${e & PTE_ACCESSED ? '+a' : ''}`;
}

function folioDirty(mm: Mm, vma: Vma, off: number): boolean {
  return (mm.host.mem.flags[vma.file!.pages[off]] & PG_DIRTY) !== 0;
}

describe('shared file mappings: faults, writeback and reclaim', () => {
  it('with write notification a read maps read-only; the write goes through page_mkwrite and dirties the folio', () => {
    onFile(true, (t, mm, vma) => {
      expect(handleMmFault(t, mm, vma.start, false)).toBe(VM_FAULT_OK);
      expect([pte(mm, vma, 0), folioDirty(mm, vma, 0)]).toEqual(['ro+a', false]);
      expect(handleMmFault(t, mm, vma.start, true)).toBe(VM_FAULT_OK);
      expect([pte(mm, vma, 0), folioDirty(mm, vma, 0)]).toEqual(['rw+d+a', true]);
      const s = mm.host.faultStats;
      expect([s.file, s.fileReads, s.wpShared]).toEqual([1, 1, 1]);
    });
  });

  it('writeback: the notifier runs before folio_mkclean write-protects the PTE; the disk gets the page', () => {
    onFile(true, (t, mm, vma, log) => {
      handleMmFault(t, mm, vma.start + PAGE_SIZE, true);
      const pfn = vma.file!.pages[1];
      mm.host.mem.data[pfn] = 42;
      const steps = [...writeCachePages(t, mm.host, vma.file!, false)].length;
      expect(steps).toBe(2);
      expect(log).toEqual(['start protection_page rw+d+a', 'end protection_page ro+a']);
      expect([pte(mm, vma, 1), folioDirty(mm, vma, 1), vma.file!.disk![1], vma.file!.pagesWritten]).toEqual([
        'ro+a',
        false,
        42,
        1,
      ]);
    });
  });

  it('without write notification a read maps writable and clean: a write through it dirties only the PTE, which unmap moves to the folio', () => {
    onFile(false, (t, mm, vma, log) => {
      handleMmFault(t, mm, vma.start, false);
      expect([pte(mm, vma, 0), folioDirty(mm, vma, 0)]).toEqual(['rw+a', false]);
      // The CPU writes through the PTE: the hardware sets its dirty bit, the folio stays clean.
      const idx = mm.pt.walk(mm.pgd, vma.start / PAGE_SIZE, 1, false);
      mm.pt.entries[idx] |= PTE_DIRTY;
      mm.host.mem.data[ptePfn(mm.pt.entries[idx])] = 7;
      expect([...writeCachePages(t, mm.host, vma.file!, false)].length).toBe(0);
      const file = vma.file!;
      expect(shrinkFileFolio(t, mm.host, file, 0)).toBe('referenced');
      expect(shrinkFileFolio(t, mm.host, file, 0)).toBe('dirty');
      expect(log).toEqual(['start clear rw+d', 'end clear none']);
      expect([...writeCachePages(t, mm.host, file, false)].length).toBe(2);
      expect([file.disk![0], shrinkFileFolio(t, mm.host, file, 0), file.pages[0], file.pagesDropped]).toEqual(
        [7, 'dropped', -1, 1],
      );
      // The next fault reads the page back from disk.
      handleMmFault(t, mm, vma.start, false);
      expect([mm.host.mem.data[file.pages[0]], mm.host.faultStats.fileReads]).toEqual([7, 2]);
    });
  });

  it('reclaim keeps a referenced folio, unmaps a dirty one and keeps it, keeps one under writeback', () => {
    onFile(true, (t, mm, vma) => {
      const file = vma.file!;
      expect(shrinkFileFolio(t, mm.host, file, 2)).toBe('not-cached');
      handleMmFault(t, mm, vma.start + 2 * PAGE_SIZE, true);
      expect(shrinkFileFolio(t, mm.host, file, 2)).toBe('referenced');
      expect(shrinkFileFolio(t, mm.host, file, 2)).toBe('dirty');
      expect(pte(mm, vma, 2)).toBe('none');
      const pass = writeCachePages(t, mm.host, file, false);
      pass.next();
      expect(shrinkFileFolio(t, mm.host, file, 2)).toBe('writeback');
      pass.next();
      expect(shrinkFileFolio(t, mm.host, file, 2)).toBe('dropped');
    });
  });
});
