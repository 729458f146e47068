/**
 * Models no kernel file: test support: the MMIO part of the x86 MMU conformance suite
 * (mmu-conformance.ts). On every MMU, the no-slot fault installs the same MMIO SPTE (generation
 * bits included), handle_mmio_page_fault answers the same from it, a memslot update makes it stale
 * and it is rebuilt, and a memslot that comes to cover the gfn turns the access into RAM.
 */
import { describe, expect, it } from 'vitest';
import { type GuestAccessResult, guestMmioAccess } from '../guest/mmio-access.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../kvm/vcpu-run.ts';
import { formatSpte } from '../kvm/x86/spte.ts';
import type { SimThread } from '../sim/thread.ts';
import type { MakeMmuVm } from './vm-fixture.ts';

/** gfn of the local APIC page (0xfee00000): no memslot covers it in the memstress VM. */
export const CONFORMANCE_MMIO_GFN = 0xfee00;

/** One guest access by `vcpu` in guest mode (KVM_RUN, untimed) on thread `t`: RAM or MMIO. */
export function* mmioAccess(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write = false,
): Generator<void, GuestAccessResult, void> {
  let r: GuestAccessResult = 'ram';
  const guest = (function* () {
    r = yield* guestMmioAccess(t, vcpu, gfn, write, 0x1234);
  })();
  yield* kvmArchVcpuIoctlRun(t, vcpu, guest, false);
  return r;
}

/** The SPTE the CPU finds for `gfn` under the vCPU's root, as the kernel prints it. */
function spteAt(vcpu: KvmVcpu, gfn: number): string {
  const pool = vcpu.kvm.mmu.pool;
  const idx = pool.walk(vcpu.root!.table, gfn);
  return formatSpte(pool.lo[idx], pool.hi.get(idx));
}

/** Registers the MMIO conformance tests for the MMU `name` builds. */
export function describeMmioConformance(name: string, makeVm: MakeMmuVm): void {
  describe(`${name}: x86 MMU conformance, MMIO SPTEs`, () => {
    it('no-slot fault → MMIO SPTE of the generation; emulate; stale after an update; RAM once a slot covers it', () => {
      const gfn = CONFORMANCE_MMIO_GFN;
      const seen: unknown[] = [];
      const { vm } = makeVm({ vcpus: 2 }, function* (t, vm) {
        const kvm = vm.kvm;
        const [v0, v1] = kvm.vcpus;
        const st = kvm.mmioGen.stats;
        const s = { lo: 0, hi: 0 };
        // Generation 4 (two memslots added from 0): 4 << 3 | W+X | gpa 0xfee00000.
        seen.push(yield* mmioAccess(t, v0, gfn), spteAt(v0, gfn));
        seen.push(kvm.mmu.getMmioSpte(t, v0.root!, gfn, s), formatSpte(s.lo, s.hi));
        seen.push(kvm.mmu.getMmioSpte(t, v0.root!, gfn + 1, s), formatSpte(s.lo, s.hi));
        // v0's MMIO cache hits; v1 (empty cache) emulates from the SPTE's current generation.
        seen.push(yield* mmioAccess(t, v0, gfn), yield* mmioAccess(t, v1, gfn));
        seen.push([st.mmioSptesCreated, st.mmioFaultsEmulated, st.mmioCacheHits, st.mmioExits]);
        // A memslot elsewhere: generation 6; the SPTE is stale (RET_PF_INVALID) and rebuilt.
        const other = kvm.mm.mmap(4096, 'anonymous');
        expect(yield* kvm.setMemoryRegion(t, 0, 5, 0, 0xf0000000, 4096, other.start)).toBe(0);
        seen.push(yield* mmioAccess(t, v0, gfn), spteAt(v0, gfn));
        seen.push([st.mmioSptesCreated, st.mmioFaultsInvalid, st.mmioExits]);
        // A memslot now covers the gfn (generation 8): stale again, and the refault maps RAM.
        const ram = kvm.mm.mmap(4096, 'anonymous');
        expect(yield* kvm.setMemoryRegion(t, 0, 6, 0, gfn * 4096, 4096, ram.start)).toBe(0);
        seen.push(yield* mmioAccess(t, v1, gfn, true));
        seen.push(spteAt(v1, gfn).slice(-3), kvm.mmu.getMmioSpte(t, v1.root!, gfn, s));
        seen.push([st.mmioSptesCreated, st.mmioFaultsInvalid, st.mmioExits]);
      });
      expect(seen).toEqual([
        'mmio',
        '0xfee00026',
        true,
        '0xfee00026',
        false,
        '0x8000000000000000',
        'mmio',
        'mmio',
        [1, 2, 1, 3],
        'mmio',
        '0xfee00036',
        [2, 1, 4],
        'ram',
        'b37',
        false,
        [2, 2, 4],
      ]);
      expect(vm.kvm.memslots(0).generation).toBe(8);
    });
  });
}
