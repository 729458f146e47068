import { describe, expect, it } from 'vitest';
import { followPteLockless } from '../../../host/gup.ts';
import { leafSpte, runOnVm, testGfn, vcpuAccess } from '../../../testing/vm-fixture.ts';
import { sptePfn } from '../spte.ts';

describe('TDP MMU faults', () => {
  it('a write fault installs a writable, accessed, dirty 4K SPTE for the host pfn', () => {
    const { vm } = runOnVm({}, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
    });
    const s = leafSpte(vm, testGfn(vm, 0))!;
    expect(s.level).toBe(1);
    expect(s.lo & 0xfff).toBe(0xb37);
    expect(s.hi).toBe(0x06000000);
    expect(sptePfn(s.lo, s.hi)).toBe(followPteLockless(vm.mm, vm.testVma.start, false));
    expect(vm.kvm.stats.eptViolations).toBe(1);
    expect(vm.kvm.stats.faultsFixed).toBe(1);
    expect(vm.kvm.mmuLock.stats.readAcquired).toBe(1);
    expect(vm.host.faultStats.anon).toBe(vm.slot0Written + 1);
  });

  it('a read fault maps the zero page read-only; the first write breaks COW through an invalidation', () => {
    const { vm } = runOnVm({}, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 3), false);
      const s = leafSpte(vm, testGfn(vm, 3))!;
      expect(sptePfn(s.lo, s.hi)).toBe(vm.host.mem.zeroPfn);
      expect(s.lo & 0xfff).toBe(0x935);
      expect(s.hi).toBe(0);
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 3), true);
    });
    const s = leafSpte(vm, testGfn(vm, 3))!;
    expect(sptePfn(s.lo, s.hi)).not.toBe(vm.host.mem.zeroPfn);
    expect(s.lo & 0xfff).toBe(0xb37);
    const k = vm.kvm.stats;
    // read fault; write fault made stale by the COW invalidation (retry); the write again.
    expect([k.eptViolations, k.faultRetries, k.faultsFixed, k.invalidations, k.sptesZapped]).toEqual([
      3, 1, 2, 1, 1,
    ]);
    expect(vm.host.faultStats.cow).toBe(1);
    expect(vm.kvm.mmuInvalidateSeq).toBe(1);
    expect(vm.kvm.mmuInvalidateInProgress).toBe(0);
  });

  it('maps THP-backed memory with 2 MiB SPTEs', () => {
    const { vm } = runOnVm({ backing: 'anonymous_thp', vcpuBytes: 4 << 20 }, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 5), true);
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 6), true);
    });
    const s = leafSpte(vm, testGfn(vm, 6))!;
    expect(s.level).toBe(2);
    expect(s.lo & 0x80).toBe(0x80);
    expect(sptePfn(s.lo, s.hi) % 512).toBe(0);
    expect(vm.kvm.stats.eptViolations).toBe(1);
    expect(vm.host.faultStats.huge).toBe(1);
  });
});

describe('TDP MMU aging', () => {
  for (const aging of ['lockless', 'write-lock'] as const) {
    it(`A/D bits on, ${aging}: clear_young clears A and reports young once`, () => {
      const young: boolean[] = [];
      const { vm } = runOnVm({ aging }, function* (t, vm) {
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
        const hva = vm.testVma.start;
        young.push(vm.kvm.notifier.clearYoung(t, vm.mm, hva, hva + 4096));
        young.push(vm.kvm.notifier.clearYoung(t, vm.mm, hva, hva + 4096));
        young.push(vm.kvm.notifier.testYoung(t, vm.mm, hva));
      });
      expect(young).toEqual([true, false, false]);
      const s = leafSpte(vm, testGfn(vm, 0))!;
      expect(s.lo & 0xfff).toBe(0xa37);
      expect(s.hi).toBe(0x06000000);
      expect(vm.kvm.stats.sptesAged).toBe(1);
      expect(vm.kvm.stats.ageGfnCalls).toBe(2);
      expect(vm.kvm.stats.testAgeGfnCalls).toBe(1);
      expect(vm.kvm.mmuLock.stats.writeAcquired).toBe(aging === 'write-lock' ? 3 : 0);
      expect(vm.kvm.stats.tlbFlushes).toBe(0);
    });

    it(`A/D bits off, ${aging}: aging makes the SPTE access-tracked; fast page faults restore it`, () => {
      const states: number[][] = [];
      const { vm } = runOnVm({ aging, eptAd: false }, function* (t, vm) {
        const vcpu = vm.kvm.vcpus[0];
        const gfn = testGfn(vm, 0);
        yield* vcpuAccess(t, vcpu, gfn, true);
        let s = leafSpte(vm, gfn)!;
        states.push([s.lo & 0xfff, s.hi]);
        expect(vm.kvm.notifier.clearYoung(t, vm.mm, vm.testVma.start, vm.testVma.start + 4096)).toBe(true);
        s = leafSpte(vm, gfn)!;
        states.push([s.lo & 0xfff, s.hi]);
        yield* vcpuAccess(t, vcpu, gfn, false);
        s = leafSpte(vm, gfn)!;
        states.push([s.lo & 0xfff, s.hi]);
        yield* vcpuAccess(t, vcpu, gfn, true);
        s = leafSpte(vm, gfn)!;
        states.push([s.lo & 0xfff, s.hi]);
      });
      expect(states).toEqual([
        [0x837, 0x06100000], // writable, A/D disabled type, no A bit
        [0x830, 0x07500000], // access-tracked: RWX cleared, R and X saved in bits 54 and 56
        [0x835, 0x06100000], // read: R and X restored, W still missing
        [0x837, 0x06100000], // write: MMU-writable, so the fast path sets W
      ]);
      expect(vm.kvm.stats.fastPageFaults).toBe(2);
      expect(vm.kvm.stats.eptViolations).toBe(3);
      expect(vm.kvm.mmuLock.stats.readAcquired).toBe(1);
    });
  }
});
