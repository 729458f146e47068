import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { zeroProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import { handleMmFault } from './fault.ts';
import { Host } from './host.ts';
import { type MmuNotifierOps, mmuNotifierRegister } from './mmu-notifier.ts';
import { PTE_ACCESSED } from './page-table.ts';
import { ptepClearFlushYoungNotify, ptepClearYoungNotify } from './young-notify.ts';

/** A subscriber that answers `young` and records the calls it got. */
function spy(young: boolean, calls: string[], name: string): MmuNotifierOps {
  return {
    clearYoung: () => {
      calls.push(`${name}.clear_young`);
      return young;
    },
    clearFlushYoung: () => {
      calls.push(`${name}.clear_flush_young`);
      return young;
    },
    testYoung: () => {
      calls.push(`${name}.test_young`);
      return young;
    },
  };
}

function onHost(body: (t: SimThread, host: Host) => void): void {
  const e = new Engine({ profile: zeroProfile(), seed: 1 });
  const host = new Host(e, { nodePages: [4096] });
  e.spawn('t', function* (t) {
    body(t, host);
    yield;
  });
  e.run();
}

describe('MMU notifier dispatch', () => {
  it('ORs clear_young over every subscriber; test_young stops at the first young one', () => {
    const calls: string[] = [];
    onHost((t, host) => {
      const mm = host.createMm();
      const n = host.mmuNotifier;
      expect(n.clearYoung(t, mm, 0, 4096)).toBe(false); // no subscribers: nothing called
      mmuNotifierRegister(mm, spy(false, calls, 'a'));
      mmuNotifierRegister(mm, spy(true, calls, 'b'));
      mmuNotifierRegister(mm, spy(true, calls, 'c'));
      expect(n.clearYoung(t, mm, 0, 4096)).toBe(true);
      expect(n.clearFlushYoung(t, mm, 0, 4096)).toBe(true);
      expect(n.testYoung(t, mm, 0)).toBe(true);
    });
    expect(calls).toEqual([
      'a.clear_young',
      'b.clear_young',
      'c.clear_young',
      'a.clear_flush_young',
      'b.clear_flush_young',
      'c.clear_flush_young',
      'a.test_young',
      'b.test_young',
    ]);
  });

  it('ptep_clear_young_notify and ptep_clear_flush_young_notify clear the host A bit and ask the notifiers', () => {
    const calls: string[] = [];
    const results: boolean[] = [];
    onHost((t, host) => {
      const mm = host.createMm();
      const vma = mm.mmap(8192, 'anonymous');
      handleMmFault(t, mm, vma.start, true);
      const idx = mm.pt.walk(mm.pgd, vma.start / 4096, 1, false);
      expect(mm.pt.entries[idx] & PTE_ACCESSED).toBe(PTE_ACCESSED);
      mmuNotifierRegister(mm, spy(false, calls, 'kvm'));
      results.push(ptepClearYoungNotify(t, mm, vma.start, idx, 4096)); // host A was set
      expect(mm.pt.entries[idx] & PTE_ACCESSED).toBe(0);
      results.push(ptepClearYoungNotify(t, mm, vma.start, idx, 4096));
      results.push(ptepClearFlushYoungNotify(t, mm, vma.start, idx, 4096));
      expect(host.mmuNotifier.stats).toMatchObject({ clearYoung: 2, clearFlushYoung: 1 });
    });
    expect(results).toEqual([true, false, false]);
    expect(calls).toEqual(['kvm.clear_young', 'kvm.clear_young', 'kvm.clear_flush_young']);
  });
});
