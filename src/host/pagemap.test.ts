import { describe, expect, it } from 'vitest';
import { EINVAL } from '../fs/errno.ts';
import { u64Words } from '../fs/vfs.ts';
import { runOnVm, testGfn, vcpuAccess } from '../testing/vm-fixture.ts';
import { followPteLockless } from './gup.ts';

describe('/proc/PID/pagemap', () => {
  it('reports present pages with their pfn in bits 0-54 and PM_MMAP_EXCLUSIVE, absent ones as 0', () => {
    const entries: Array<[number, number]> = [];
    let pfn = 0;
    let err = 0;
    runOnVm({}, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      const b = yield* vm.vfs.pread(t, vm.pagemapPath, (vm.testVma.start / 4096) * 8, 16);
      if (typeof b === 'number') throw new Error(`errno ${b}`);
      entries.push(u64Words(b, 0), u64Words(b, 8));
      err = (yield* vm.vfs.pread(t, vm.pagemapPath, 4, 8)) as number;
    });
    expect(entries[0]).toEqual([pfn, (0x80000000 | 0x01000000) >>> 0]);
    expect(entries[1]).toEqual([0, 0]);
    expect(err).toBe(-EINVAL);
  });
});
