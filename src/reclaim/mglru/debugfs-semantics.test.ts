import { describe, expect, it } from 'vitest';
import { runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import { LRU_GEN_DEBUGFS } from './debugfs.ts';
import { LRU_GEN_ANON, LRU_GEN_FILE, MAX_NR_GENS } from './lruvec.ts';

const enc = new TextEncoder();

describe('lru_gen and memory.reclaim semantics', () => {
  it('`- memcg nid seq 201` stops once the anon min_seq passes seq', () => {
    const seen: Record<string, unknown> = {};
    runOnVm({ lruGen: true, vcpuBytes: 64 * 4096, swapPages: 4096 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      const l = vm.lruGen!.lruvec(vm.mm.memcg, 0);
      const age = function* () {
        yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode(`+ 2 0 ${l.maxSeq} 1 1`));
      };
      for (let i = 0; i < 64; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      yield* age();
      yield* age(); // max_seq 5
      // Half the pages young again: the aging walk moves them to max_seq (5) before it becomes 6.
      for (let i = 0; i < 32; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      yield* age();
      // The file min_seq may lag (swappiness=max never evicts file): the oldest it can be is
      // max_seq - MAX_NR_GENS + 1. Eviction must still stop on the anon min_seq alone.
      l.minSeq[LRU_GEN_FILE] = l.maxSeq - MAX_NR_GENS + 1;
      seen.before = [l.maxSeq, l.pagesIn(5, LRU_GEN_ANON)];
      seen.ret = yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode('- 2 0 4 201'));
      seen.after = [l.minSeq[LRU_GEN_ANON], l.pagesIn(5, LRU_GEN_ANON)];
    });
    const [maxSeq, gen5] = seen.before as number[];
    expect(maxSeq).toBe(6);
    expect(gen5).toBeGreaterThanOrEqual(32);
    expect(seen.ret).toBe(11);
    // Generations up to 4 are gone; generation 5 is untouched.
    expect(seen.after).toEqual([5, gen5]);
  });

  it('memory.reclaim at the root cgroup reclaims from its child', () => {
    const seen: number[] = [];
    runOnVm({ lruGen: true, vcpuBytes: 512 * 4096, swapPages: 4096 }, function* (t, vm) {
      for (let i = 0; i < 512; i++) yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      seen.push(yield* vm.vfs.pwrite(t, '/sys/fs/cgroup/memory.reclaim', 0, enc.encode('64K')));
      seen.push(vm.host.swap!.swapOuts);
    });
    expect(seen[0]).toBe(3);
    expect(seen[1]).toBeGreaterThanOrEqual(16);
  });
});
