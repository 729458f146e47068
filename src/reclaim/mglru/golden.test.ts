import { describe, expect, it } from 'vitest';
import { runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import { LRU_GEN_DEBUGFS } from './debugfs.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Golden debugfs output for 1 vCPU and 64 MiB: after populating, after an aging pass, and after the
 * guest read everything again and another aging pass. Regenerate by printing `out` if a deliberate
 * change of the model moves these numbers. The test memcg's 296 other folios and then the 16384 test
 * pages were added on one CPU: the last (296 + 16384) % PAGEVEC_SIZE = 2 test pages still wait in
 * its LRU batch, so the generations hold 16382 of them (16678 folios in all).
 */
const GOLDEN = [
  'memcg     1 /\n node     0\n          0         56          0           0 \n          1         56          0           0 \n          2         56          0           0 \n          3         56          0           0 \nmemcg     2 /access_tracking_perf_test\n node     0\n          0         56          0           0 \n          1         56          0           0 \n          2         56      16678           0 \n          3         56          0           0 \n',
  'memcg     1 /\n node     0\n          0         59          0           0 \n          1         59          0           0 \n          2         59          0           0 \n          3         59          0           0 \nmemcg     2 /access_tracking_perf_test\n node     0\n          1         59          0           0 \n          2         59        296           0 \n          3         59      16382           0 \n          4          0          0           0 \n',
  'memcg     1 /\n node     0\n          0         64          0           0 \n          1         64          0           0 \n          2         64          0           0 \n          3         64          0           0 \nmemcg     2 /access_tracking_perf_test\n node     0\n          2         64        296           0 \n          3         64          0           0 \n          4          5      16382           0 \n          5          0          0           0 \n',
];

describe('lru_gen golden output (1 vCPU, 64 MiB)', () => {
  it('matches the kernel format and generation counts byte for byte', () => {
    const out: string[] = [];
    runOnVm({ lruGen: true, vcpuBytes: 64 << 20 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      const show = function* () {
        out.push(dec.decode((yield* vm.vfs.pread(t, LRU_GEN_DEBUGFS, 0, 1 << 16)) as Uint8Array));
      };
      for (let i = 0; i < 16384; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      yield* show();
      yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode('+ 2 0 3 1 1'));
      yield* show();
      for (let i = 0; i < 16384; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode('+ 2 0 4 1 1'));
      yield* show();
    });
    expect(out).toEqual(GOLDEN);
  });
});
