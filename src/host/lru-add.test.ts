import { describe, expect, it } from 'vitest';
import { runOnVm, testGfn, vcpuAccess } from '../testing/vm-fixture.ts';
import { followPteLockless } from './gup.ts';
import { madviseDontneed } from './madvise.ts';

describe('per-CPU LRU batches', () => {
  it('forget a folio freed while it waits, so a later drain does not put a freed frame on the LRU', () => {
    const { vm } = runOnVm({ lruGen: true }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      vm.host.lru.drainAll(t);
      const before = vm.host.lru.onLru;
      for (let i = 0; i < 3; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      const freed = followPteLockless(vm.mm, vm.testVma.start + 4096, false);
      expect(vm.host.lru.pending).toBe(3);
      madviseDontneed(t, vm.mm, vm.testVma.start + 4096, vm.testVma.start + 2 * 4096);
      expect(vm.host.lru.pending).toBe(2);
      // Enough new faults to fill and drain the batch (PAGEVEC_SIZE: 31 folios).
      for (let i = 3; i < 32; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      expect(vm.host.lru.pending).toBe(0);
      expect(vm.host.lru.onLru - before).toBe(31);
      expect(vm.host.mem.lruLinks!.linked(freed)).toBe(false);
    });
    // MGLRU's sizes count exactly the folios on the LRU.
    let sized = 0;
    for (const l of vm.lruGen!.all()) for (const n of l.nrPages) sized += n;
    expect(sized).toBe(vm.host.lru.onLru);
  });

  it("drain under the folio's own lruvec lock, the one MGLRU's inc_max_seq takes", () => {
    runOnVm({ lruGen: true }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      vm.host.lru.drainAll(t);
      yield* vcpuAccess(t, vcpu, testGfn(vm, 0), true);
      const pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      const memcg = vm.host.mem.memcgOf(pfn);
      const nid = vm.host.mem.pfnToNid(pfn);
      const lock = vm.host.lru.lruLock(memcg, nid);
      const lruvec = vm.lruGen!.lruvec(vm.host.memcgs.byId(memcg)!, nid);
      expect(vm.lruGen!.lruLock(lruvec)).toBe(lock);
      expect(lock.name).toBe(`lruvec${memcg}.${nid}.lru_lock`);
      const before = lock.stats.writeAcquired;
      for (let i = 1; i < 30; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      expect([vm.host.lru.pending, lock.stats.writeAcquired - before]).toEqual([30, 0]);
      yield* vcpuAccess(t, vcpu, testGfn(vm, 30), true);
      // The 31st folio filled the batch: one drain, one hold of this lruvec's lock.
      expect(vm.host.lru.pending).toBe(0);
      expect(lock.stats.writeAcquired - before).toBe(1);
    });
  });
});
