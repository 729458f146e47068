import { describe, expect, it } from 'vitest';
import { type GuestAccessResult, guestMmioAccess } from '../../guest/mmio-access.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { vmCreate } from '../../vm/vm-builder.ts';
import type { Kvm } from '../kvm.ts';
import { KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS } from '../memslot-generation.ts';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, kvmEnterGuestPrepare } from '../vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../vcpu-run.ts';
import { kvmMmuInvalidateMmioSptes, type MmioGenOptions, type MmioZapStrategy } from './mmio-gen.ts';
import { formatSpte } from './spte.ts';
import type { TdpMmu } from './tdp-mmu/tdp-mmu.ts';

/** gfn of the local APIC page: no memslot covers it. */
const MMIO_GFN = 0xfee00;
/** KVM_MEM_LOG_DIRTY_PAGES: toggling it is a FLAGS_ONLY update, one swap. */
const KVM_MEM_LOG_DIRTY_PAGES = 1;

/** A 2-address-space VM with a one-page RAM slot 0 in each address space, and one vCPU; runs `body`. */
function runVm(mmioGen: MmioGenOptions, body: (t: SimThread, kvm: Kvm) => Generator<void, void, void>): Kvm {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const { mm, kvm } = vmCreate(engine, { hostPages: 4096, aging: 'lockless', eptAd: true, mmioGen });
  engine.spawn('main', function* (t) {
    for (const as of [0, 1]) {
      const vma = mm.mmap(4096, 'anonymous');
      const r = yield* kvm.setMemoryRegion(t, as, 0, 0, 0, 4096, vma.start);
      if (r !== 0) throw new Error(`slot 0: ${r}`);
    }
    yield* body(t, kvm);
  });
  engine.run();
  return kvm;
}

/** `n` FLAGS_ONLY updates of slot 0 in address space `as` (each one swap). Returns the wraps seen. */
function* churn(t: SimThread, kvm: Kvm, as: number, n: number) {
  const hva = kvm.memslots(as).byGfn[0].userspaceAddr;
  for (let i = 0; i < n; i++) {
    const flags = kvm.memslots(as).byGfn[0].flags ^ KVM_MEM_LOG_DIRTY_PAGES;
    const r = yield* kvm.setMemoryRegion(t, as, 0, flags, 0, 4096, hva);
    if (r !== 0) throw new Error(`flags update: ${r}`);
  }
}

/** One guest access by vCPU 0 in guest mode (KVM_RUN, untimed). */
function* access(t: SimThread, kvm: Kvm, gfn: number) {
  const v = kvm.vcpus[0] ?? kvm.createVcpu();
  let r: GuestAccessResult | null = null;
  const guest = (function* () {
    r = yield* guestMmioAccess(t, v, gfn, false);
  })();
  yield* kvmArchVcpuIoctlRun(t, v, guest, false);
  return r;
}

function spteAt(kvm: Kvm, gfn: number): string {
  const pool = kvm.mmu.pool;
  const idx = pool.walk(kvm.vcpus[0].root!.table, gfn);
  return formatSpte(pool.lo[idx], pool.hi.get(idx));
}

/** A wraparound zap that only calls `record`. */
function recordingZap(record: () => void): MmioZapStrategy {
  // biome-ignore lint/correctness/useYield: a stub strategy that never waits.
  return function* () {
    record();
  };
}

/** kvm_mmu_invalidate_mmio_sptes for each generation of `gens`: whether each one zapped. */
function* invalidateEach(t: SimThread, kvm: Kvm, gens: number[]) {
  const zapped: boolean[] = [];
  for (const g of gens) zapped.push(yield* kvmMmuInvalidateMmioSptes(t, kvm, g));
  return zapped;
}

describe('kvm_mmu_invalidate_mmio_sptes: wraparound detection', () => {
  it('v5.1 masks 19 bits and the address-space bit; it WARNs on an in-progress generation', () => {
    const calls: number[] = [];
    runVm({ kernel: 'v5.1', start: 'as-id' }, function* (t, kvm) {
      kvm.mmioGen.zap = recordingZap(() => calls.push(kvm.mmioGen.stats.wraps));
      const got = yield* invalidateEach(t, kvm, [0x80000, 0x80001, 0x80002, 0x7ffff, 2 ** 40]);
      expect(got).toEqual([true, true, false, false, true]);
      expect(() => kvmMmuInvalidateMmioSptes(t, kvm, KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS + 2).next()).toThrow(
        'WARN_ON_ONCE',
      );
    });
    expect(calls).toEqual([1, 2, 3]);
  });

  it('v4.20 tests 20 bits for exactly 0, without clearing the address-space bits', () => {
    runVm({ kernel: 'v4.20', start: 'as-id' }, function* (t, kvm) {
      kvm.mmioGen.zap = recordingZap(() => undefined);
      const got = yield* invalidateEach(t, kvm, [0x100000, 0x100002, 0x80000, 0]);
      expect(got).toEqual([true, false, false, true]);
    });
  });
});

describe('memslot generation wraparound with the -150 start', () => {
  it('v5.1: address space 0 wraps on its 75th update; zap-all-fast drops the MMIO SPTE, which is rebuilt at generation 0', () => {
    const seen: unknown[] = [];
    const kvm = runVm({ kernel: 'v5.1', start: 'minus-150' }, function* (t, kvm) {
      // Slot 0 of each address space took one update: AS 0 is at -148 (2^52 - 148).
      expect(kvm.memslots(0).generation).toBe(2 ** 52 - 148);
      expect(yield* access(t, kvm, MMIO_GFN)).toBe('mmio');
      // (-148 & 0x7ffff) = 0x7ff6c: 0x6c << 3 = 0x360 | 0x6; 0x7ff << 52.
      seen.push(spteAt(kvm, MMIO_GFN));
      const root = kvm.vcpus[0].root;
      yield* churn(t, kvm, 0, 73);
      seen.push(kvm.memslots(0).generation, kvm.mmioGen.stats.wraps);
      yield* churn(t, kvm, 0, 1);
      // kvm_mmu_zap_all_fast made the root obsolete and zapped it; the vCPU, outside guest mode,
      // drops it for a new one when it serves KVM_REQ_MMU_FREE_OBSOLETE_ROOTS before its next entry.
      expect([root!.invalid, kvm.vcpus[0].requests & KVM_REQ_MMU_FREE_OBSOLETE_ROOTS]).toEqual([
        true,
        KVM_REQ_MMU_FREE_OBSOLETE_ROOTS,
      ]);
      kvmEnterGuestPrepare(t, kvm.vcpus[0]);
      seen.push(kvm.memslots(0).generation, kvm.mmioGen.stats.wraps, kvm.vcpus[0].root !== root);
      seen.push(spteAt(kvm, MMIO_GFN));
      expect(yield* access(t, kvm, MMIO_GFN)).toBe('mmio');
      seen.push(spteAt(kvm, MMIO_GFN));
    });
    expect(seen).toEqual([
      '0x7ff00000fee00366',
      2 ** 52 - 2,
      0,
      0,
      1,
      true,
      '0x8000000000000000', // the new root's SHADOW_NONPRESENT_VALUE
      '0xfee00006', // generation 0
    ]);
    expect(kvm.mmioGen.stats.mmioSptesCreated).toBe(2);
    expect((kvm.mmu as TdpMmu).roots.length).toBe(1);
  });

  it('v4.20: address space 1 wraps after 37 updates, address space 0 never hits exactly 0 (the missed wrap)', () => {
    const wraps: number[] = [];
    runVm({ kernel: 'v4.20', start: 'minus-150' }, function* (t, kvm) {
      kvm.mmioGen.zap = recordingZap(() =>
        wraps.push(kvm.memslots(0).generation % 2 ** 20, kvm.memslots(1).generation % 2 ** 20),
      );
      // AS 0: 2^20 - 150 + 4 after its slot, += 4 per update: 0xffffe -> 0x2 passes 0 without a zap.
      yield* churn(t, kvm, 0, 40);
      expect(kvm.memslots(0).generation % 2 ** 20).toBe(0xfff6e + 160 - 2 ** 20);
      expect(kvm.mmioGen.stats.wraps).toBe(0);
      // AS 1: 2^20 - 148 + 4, so 36 more updates reach exactly 0.
      yield* churn(t, kvm, 1, 36);
      expect(kvm.mmioGen.stats.wraps).toBe(1);
    });
    // During the zap AS 0 is at 14 and AS 1's active set still carries the in-progress value
    // (old generation 2^20 - 4, plus bit 0): the new generation is stored after the call.
    expect(wraps).toEqual([14, 2 ** 20 - 3]);
  });
});
