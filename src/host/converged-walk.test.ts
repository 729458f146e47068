import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import { type ConvergedWalk, followPfnLockless } from './converged-walk.ts';
import { handleMmFault, VM_FAULT_OK } from './fault.ts';
import { Host } from './host.ts';
import { PAGE_SIZE, PTE_WRITE } from './page-table.ts';

describe('followPfnLockless (the converged walk)', () => {
  it('returns pfn and level of a writable leaf, 4 KiB or 2 MiB, without a reference; refuses missing and read-only entries', () => {
    const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1, cpus: 1 });
    const host = new Host(engine, { nodePages: [4096] });
    const mm = host.createMm();
    const small = mm.mmap(2 * PAGE_SIZE, 'anonymous');
    const huge = mm.mmap(512 * PAGE_SIZE, 'anonymous_thp');
    const out: ConvergedWalk = { pfn: -1, level: 0 };
    const got: unknown[] = [];
    // biome-ignore lint/correctness/useYield: the body runs without waiting for another thread.
    engine.spawn('main', function* (t) {
      expect(followPfnLockless(t, mm, small.start, out)).toBe(false);
      expect(handleMmFault(t, mm, small.start, true)).toBe(VM_FAULT_OK);
      expect(handleMmFault(t, mm, huge.start, true)).toBe(VM_FAULT_OK);
      const before = t.now;
      expect(followPfnLockless(t, mm, small.start, out)).toBe(true);
      expect(t.now - before).toBe(engine.profile.gupFastNs);
      const pfn4k = out.pfn;
      got.push([out.level, host.mem.refs.count[host.mem.refs.folioOf(pfn4k)]]);
      expect(followPfnLockless(t, mm, huge.start + 3 * PAGE_SIZE, out)).toBe(true);
      got.push([out.level, out.pfn % 512]);
      // Write-protect the 4 KiB PTE: left to GUP.
      const idx = mm.pt.walk(mm.pgd, small.start / PAGE_SIZE, 1, false);
      mm.pt.entries[idx] &= ~PTE_WRITE;
      got.push(followPfnLockless(t, mm, small.start, out));
    });
    engine.run();
    // The 4 KiB page keeps only its mapping's reference: the walk took none.
    expect(got).toEqual([[1, 1], [2, 3], false]);
  });
});
