import { describe, expect, it } from 'vitest';
import { madviseDontneed } from '../host/madvise.ts';
import { runOnVm, testGfn, vcpuAccess } from '../testing/vm-fixture.ts';

describe('kvm_handle_hva_range', () => {
  it('takes mmu_lock once for a range over several memslots, and calls the handler per slot', () => {
    const { vm } = runOnVm({ aging: 'write-lock' }, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      yield* vcpuAccess(t, vm.kvm.vcpus[0], 0x10, true);
      // The test region sits below memslot 0's VMA: one range covers both slots.
      expect(vm.testVma.end).toBeLessThan(vm.slot0Vma.start);
      const young = vm.kvm.notifier.clearYoung(t, vm.mm, vm.testVma.start, vm.slot0Vma.end);
      expect(young).toBe(true);
    });
    expect(vm.kvm.notifier.lockTaken).toBe(1);
    expect(vm.kvm.mmuLock.stats.writeAcquired).toBe(1);
    expect(vm.kvm.stats.ageGfnCalls).toBe(2);
    expect(vm.kvm.stats.sptesAged).toBe(2);
  });

  it('takes no lock and calls nothing for a range outside every memslot', () => {
    const { vm } = runOnVm({ aging: 'write-lock' }, (t, vm) => {
      const gapStart = vm.testVma.end;
      expect(vm.kvm.notifier.clearYoung(t, vm.mm, gapStart, gapStart + 8192)).toBe(false);
      vm.host.mmuNotifier.invalidateRangeStart(t, {
        mm: vm.mm,
        start: 0x1000,
        end: 0x3000,
        event: 'clear',
        blockable: true,
      });
      vm.host.mmuNotifier.invalidateRangeEnd(t, {
        mm: vm.mm,
        start: 0x1000,
        end: 0x3000,
        event: 'clear',
        blockable: true,
      });
      return undefined;
    });
    expect(vm.kvm.notifier.lockTaken).toBe(0);
    expect(vm.kvm.mmuLock.stats.writeAcquired).toBe(0);
    expect(vm.kvm.stats.ageGfnCalls).toBe(0);
    // No memslot matched, so on_lock never ran: the invalidation counters are untouched.
    expect(vm.kvm.mmuInvalidateSeq).toBe(0);
    expect(vm.kvm.mmuInvalidateInProgress).toBe(0);
    expect(vm.kvm.mnActiveInvalidateCount.value).toBe(0);
  });

  it('never takes mmu_lock when aging is lockless', () => {
    const { vm } = runOnVm({ aging: 'lockless' }, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      vm.kvm.notifier.clearYoung(t, vm.mm, vm.testVma.start, vm.slot0Vma.end);
    });
    expect(vm.kvm.notifier.lockTaken).toBe(0);
    expect(vm.kvm.mmuLock.stats.writeAcquired).toBe(0);
    expect(vm.kvm.stats.ageGfnCalls).toBe(2);
  });

  it('invalidation zaps the SPTEs of the range, widens the range, bumps the sequence and flushes', () => {
    const { vm } = runOnVm({}, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      for (let i = 0; i < 4; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      const freed = madviseDontneed(t, vm.mm, vm.testVma.start + 4096, vm.testVma.start + 3 * 4096);
      expect(freed).toBe(2);
      expect(vm.kvm.mmuInvalidateRangeStart).toBe(testGfn(vm, 1));
      expect(vm.kvm.mmuInvalidateRangeEnd).toBe(testGfn(vm, 3));
    });
    expect(vm.kvm.stats.sptesZapped).toBe(2);
    expect(vm.kvm.stats.invalidations).toBe(1);
    expect(vm.kvm.stats.tlbFlushes).toBe(1);
    expect(vm.kvm.mmuInvalidateSeq).toBe(1);
    expect(vm.kvm.mmuInvalidateInProgress).toBe(0);
    expect(vm.kvm.mmuLock.stats.writeAcquired).toBe(2);
  });
});
