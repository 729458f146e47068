import { describe, expect, it } from 'vitest';
import { bytesPerGuestPage } from '../../../experiments/access-tracking/memstress-vm.ts';
import { runOnVm, vcpuAccess } from '../../../testing/vm-fixture.ts';
import { SHADOW_MMU_BYTES_PER_GUEST_PAGE } from './simulator-bytes.ts';

/** simulatorBytes of a shadow-MMU VM with `mib` MiB of test memory, all written once and aged locklessly. */
function measured(mib: number, tdpMmu = false): number {
  let bytes = -1;
  runOnVm({ tdpMmu, vcpuBytes: mib << 20 }, function* (t, vm) {
    const v = vm.kvm.vcpus[0];
    const base = vm.args.gpa / 4096;
    for (let i = 0; i < vm.testPages; i++) yield* vcpuAccess(t, v, base + i, true);
    vm.kvm.mmu.ageGfnRange(t, 0, base, base + vm.testPages, false, true);
    bytes = vm.kvm.mmu.simulatorBytes();
  });
  return bytes;
}

describe("the shadow MMU's simulator bytes per guest page (rmaps, rmap lock bookkeeping, shadow pages)", () => {
  it('the estimate: a 4-byte rmap head, its 8-byte lock time and 1/8 of a line CPU, 1/512 of a level-2 head and of a shadow page', () => {
    expect(SHADOW_MMU_BYTES_PER_GUEST_PAGE).toBe(4 + 8 + 0.5 + 12 / 512 + 136 / 512);
    expect(bytesPerGuestPage('anonymous', true, 'shadow') - bytesPerGuestPage('anonymous', true, 'tdp')).toBe(
      SHADOW_MMU_BYTES_PER_GUEST_PAGE,
    );
    expect(bytesPerGuestPage('anonymous', true, 'tdp')).toBe(bytesPerGuestPage('anonymous', true));
  });

  it('measured: 8 MiB more guest memory, written and aged, costs the estimate per page; the TDP MMU adds nothing', () => {
    // 4 bytes more in all: memslot 0, which holds the guest page tables, grows with the test memory.
    expect(measured(16) - measured(8)).toBe(2048 * SHADOW_MMU_BYTES_PER_GUEST_PAGE + 4);
    expect(measured(8, true)).toBe(0);
  });
});
