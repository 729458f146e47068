import { describe, expect, it } from 'vitest';
import { EINVAL, ENXIO } from '../../fs/errno.ts';
import { putU64Words, u64Words } from '../../fs/vfs.ts';
import { followPteLockless } from '../../host/gup.ts';
import { PG_IDLE, PG_YOUNG } from '../../host/page-flags.ts';
import { runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import { PAGE_IDLE_BITMAP } from './page-idle.ts';

function word(bit: number): Uint8Array {
  const b = new Uint8Array(8);
  putU64Words(b, 0, bit < 32 ? (1 << bit) >>> 0 : 0, bit >= 32 ? (1 << (bit - 32)) >>> 0 : 0);
  return b;
}

describe('/sys/kernel/mm/page_idle/bitmap', () => {
  it('returns -EINVAL for offsets and lengths that are not multiples of 8, -ENXIO past max_pfn', () => {
    const rs: Array<number | number[]> = [];
    runOnVm({}, function* (t, vm) {
      const f = vm.vfs;
      const max = vm.host.mem.maxPfn;
      rs.push((yield* f.pread(t, PAGE_IDLE_BITMAP, 4, 8)) as number);
      rs.push((yield* f.pread(t, PAGE_IDLE_BITMAP, 8, 5)) as number);
      rs.push(yield* f.pwrite(t, PAGE_IDLE_BITMAP, 3, new Uint8Array(8)));
      rs.push(yield* f.pwrite(t, PAGE_IDLE_BITMAP, Math.ceil(max / 64) * 8, new Uint8Array(8)));
      const past = yield* f.pread(t, PAGE_IDLE_BITMAP, Math.ceil(max / 64) * 8, 8);
      rs.push(typeof past === 'number' ? past : [past.length]);
    });
    expect(rs).toEqual([-EINVAL, -EINVAL, -EINVAL, -ENXIO, [0]]);
  });

  it('marks an LRU page idle; it reads back idle until the guest touches it, then PG_young is set', () => {
    const seen: boolean[] = [];
    let idleFlags = 0;
    const { vm } = runOnVm({}, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      // Fault in more than one per-CPU LRU batch so the first page reaches the LRU.
      for (let i = 0; i < 32; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      const pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      const off = Math.floor(pfn / 64) * 8;
      const bit = pfn % 64;
      const read = function* () {
        const b = yield* vm.vfs.pread(t, PAGE_IDLE_BITMAP, off, 8);
        if (typeof b === 'number') throw new Error(`errno ${b}`);
        const [lo, hi] = u64Words(b);
        return ((bit < 32 ? lo >>> bit : hi >>> (bit - 32)) & 1) === 1;
      };
      seen.push(yield* read());
      expect(yield* vm.vfs.pwrite(t, PAGE_IDLE_BITMAP, off, word(bit))).toBe(8);
      seen.push(yield* read());
      idleFlags = vm.host.mem.flags[pfn];
      yield* vcpuAccess(t, vcpu, testGfn(vm, 0), false);
      seen.push(yield* read());
      expect(vm.host.mem.flags[pfn] & (PG_IDLE | PG_YOUNG)).toBe(PG_YOUNG);
    });
    // Not idle before marking; idle after; the guest's access (SPTE Accessed bit) makes it young.
    expect(seen).toEqual([false, true, false]);
    expect(idleFlags & PG_IDLE).toBe(PG_IDLE);
    expect(vm.pageIdle.stats.marked).toBe(1);
    expect(vm.pageIdle.stats.foundYoung).toBe(2);
    // clear_young, not clear_flush_young: no TLB flush.
    expect(vm.kvm.stats.tlbFlushes).toBe(0);
    expect(vm.host.mmuNotifier.stats.clearFlushYoung).toBe(0);
  });

  it('ignores pages that are not on the LRU yet (still in a per-CPU batch)', () => {
    let marked = -1;
    runOnVm({}, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      const pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      yield* vm.vfs.pwrite(t, PAGE_IDLE_BITMAP, Math.floor(pfn / 64) * 8, word(pfn % 64));
      marked = vm.pageIdle.stats.marked;
      expect(vm.host.mem.flags[pfn] & PG_IDLE).toBe(0);
    });
    expect(marked).toBe(0);
  });
});
