import { describe, expect, it } from 'vitest';
import { runOnVm, testGfn, vcpuAccess } from '../testing/vm-fixture.ts';
import { KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS } from './memslot-generation.ts';

describe('memslot updates', () => {
  it('starts each address space at its id and adds nr_as per swap (CREATE swaps once)', () => {
    const { vm } = runOnVm({}, () => undefined);
    // Two CREATEs in address space 0 (slot 0 and the test slot).
    expect(vm.kvm.memslots(0).generation).toBe(4);
    expect(vm.kvm.memslots(1).generation).toBe(1);
    expect(vm.kvm.memslots(0).byGfn.map((s) => s.id)).toEqual([0, 1]);
  });

  it('DELETE swaps twice through an INVALID slot and zaps its SPTEs', () => {
    let during = 0;
    const { vm } = runOnVm({}, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      const gen = vm.kvm.memslots(0).generation;
      const r = yield* vm.kvm.setMemoryRegion(t, 0, 1, 0, vm.args.gpa, 0, vm.testVma.start);
      expect(r).toBe(0);
      during = vm.kvm.memslots(0).generation - gen;
    });
    expect(during).toBe(4);
    expect(vm.kvm.memslots(0).byGfn.map((s) => s.id)).toEqual([0]);
    expect(vm.kvm.memslots(0).generation).toBeLessThan(KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
    expect(vm.kvm.stats.sptesZapped).toBe(1);
  });

  it('MOVE changes the base gfn with two swaps; FLAGS_ONLY with one', () => {
    const gens: number[] = [];
    const { vm } = runOnVm({}, function* (t, vm) {
      const size = vm.args.size;
      gens.push(vm.kvm.memslots(0).generation);
      expect(yield* vm.kvm.setMemoryRegion(t, 0, 1, 0, vm.args.gpa - size, size, vm.testVma.start)).toBe(0);
      gens.push(vm.kvm.memslots(0).generation);
      expect(yield* vm.kvm.setMemoryRegion(t, 0, 1, 1, vm.args.gpa - size, size, vm.testVma.start)).toBe(0);
      gens.push(vm.kvm.memslots(0).generation);
    });
    expect(gens).toEqual([4, 8, 10]);
    const slot = vm.kvm.memslots(0).byGfn.find((s) => s.id === 1)!;
    expect(slot.baseGfn).toBe((vm.args.gpa - vm.args.size) / 4096);
    expect(slot.flags).toBe(1);
  });

  it('returns the kernel errnos for bad requests', () => {
    const rs: number[] = [];
    runOnVm({}, function* (t, vm) {
      const k = vm.kvm;
      const hva = vm.testVma.start;
      rs.push(yield* k.setMemoryRegion(t, 0, 5, 0, 4096, 4096 * 4, hva)); // overlaps slot 0
      rs.push(yield* k.setMemoryRegion(t, 0, 5, 0, 0x100000000, 1000, hva)); // size not page aligned
      rs.push(yield* k.setMemoryRegion(t, 2, 5, 0, 0x100000000, 4096, hva)); // no such address space
      rs.push(yield* k.setMemoryRegion(t, 0, 9, 0, 0x100000000, 0, hva)); // delete a missing slot
      rs.push(yield* k.setMemoryRegion(t, 0, 1, 0, vm.args.gpa, vm.args.size * 2, hva)); // resize
      rs.push(yield* k.setMemoryRegion(t, 0, 1, 0, vm.args.gpa, vm.args.size, hva)); // no change
    });
    expect(rs).toEqual([-17, -22, -22, -22, -22, 0]);
  });
});
