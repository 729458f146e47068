/**
 * Models no kernel file: test support: the conformance suite every x86 MMU (kvm/x86/kvm-mmu.ts)
 * runs. The same guest on each MMU must leave the same SPTEs (read as the CPU walks them) and the
 * same counters after faults, aging (test-age and age, A/D bits on and off), an invalidation and a
 * zap of everything. Where MMUs differ by design (the shadow MMU prefetches neighbouring SPTEs,
 * takes mmu_lock for write to fault, flushes when it frees zapped pages), the implementation's test
 * states its exact values in `MmuConformanceExpectations`; the suite checks those. An
 * implementation's test calls `describeMmuConformance` in a few lines.
 */
import { describe, expect, it } from 'vitest';
import type { MemstressVm } from '../experiments/access-tracking/memstress-vm.ts';
import { handleMmFault } from '../host/fault.ts';
import { followPteLockless } from '../host/gup.ts';
import { madviseDontneed } from '../host/madvise.ts';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from '../kvm/vcpu.ts';
import { sptePfn } from '../kvm/x86/spte.ts';
import { spteIndex } from '../kvm/x86/tdp-mmu/spte-pool.ts';
import { describeAdPolicyConformance } from './mmu-conformance-ad-policy.ts';
import { describeMmioConformance } from './mmu-conformance-mmio.ts';
import { leafSpte, type MakeMmuVm, testGfn, vcpuAccess } from './vm-fixture.ts';

export type { MakeMmuVm } from './vm-fixture.ts';

/** What an MMU does differently from another by design, as the exact values the suite expects. */
export interface MmuConformanceExpectations {
  /**
   * SPTEs a 4K fault maps besides its own when the host pages of its aligned group of 8 are all
   * present: 7 with direct_pte_prefetch (shadow MMU), 0 without (TDP MMU).
   */
  prefetched: number;
  /**
   * kvm_flush_remote_tlbs calls of a zap-all-fast and the vCPU's reload of its root: the shadow
   * MMU flushes when it frees the zapped pages and again when the old root's last put frees it
   * (kvm_mmu_commit_zap_page); the TDP MMU frees invalid roots without a flush.
   */
  zapAllFastTlbFlushes: number;
}

/**
 * The exact mmu_lock acquisitions after `faults` slow-path faults and `agingWrites` aging calls
 * under the write lock: faults take the lock in the MMU's fault mode (read for the TDP MMU,
 * write for the shadow MMU), aging takes it for write.
 */
function expectMmuLocks(vm: MemstressVm, faults: number, agingWrites: number): void {
  const s = vm.kvm.mmuLock.stats;
  const shared = vm.kvm.mmu.faultLockShared;
  expect([s.readAcquired, s.writeAcquired]).toEqual([
    shared ? faults : 0,
    (shared ? 0 : faults) + agingWrites,
  ]);
}

/** The leaf's low 12 bits and high word, or null when nothing maps `gfn`. */
function leafBits(vm: MemstressVm, gfn: number): [number, number] | null {
  const s = leafSpte(vm, gfn);
  return s === null ? null : [s.lo & 0xfff, s.hi];
}

/** Registers the conformance tests for the MMU `name` builds. */
export function describeMmuConformance(
  name: string,
  makeVm: MakeMmuVm,
  expected: MmuConformanceExpectations,
): void {
  describe(`${name}: x86 MMU conformance`, () => {
    it('a write fault installs a writable, accessed, dirty 4K SPTE for the host pfn, under linked tables', () => {
      const { vm } = makeVm({}, function* (t, vm) {
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      });
      const s = leafSpte(vm, testGfn(vm, 0))!;
      expect([s.level, s.lo & 0xfff, s.hi]).toEqual([1, 0xb37, 0x06000000]);
      expect(sptePfn(s.lo, s.hi)).toBe(followPteLockless(vm.mm, vm.testVma.start, false));
      // make_nonleaf_spte: present, RWX, A (A/D on) at levels 4, 3 and 2.
      const pool = vm.kvm.mmu.pool;
      let table = vm.kvm.vcpus[0].root!.table;
      const links: number[] = [];
      for (let level = 4; level > 1; level--) {
        const idx = table * 512 + spteIndex(testGfn(vm, 0), level);
        links.push(pool.lo[idx] & 0xfff);
        table = pool.child(idx);
      }
      expect(links).toEqual([0x907, 0x907, 0x907]);
      expect(pool.tables).toBe(4);
      const k = vm.kvm.stats;
      expect([k.eptViolations, k.faultsFixed, k.faultRetries, k.faultsSpurious]).toEqual([1, 1, 0, 0]);
      expectMmuLocks(vm, 1, 0);
      expect(vm.host.faultStats.anon).toBe(vm.slot0Written + 1);
      expect(vm.kvm.mmu.getMmioSpte(vm.kvm.vcpus[0].thread!, vm.kvm.vcpus[0].root!, testGfn(vm, 0), s)).toBe(
        false,
      );
    });

    it('a read fault maps the zero page read-only; the first write breaks COW through an invalidation', () => {
      const seen: Array<[number, number] | null> = [];
      const { vm } = makeVm({}, function* (t, vm) {
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 3), false);
        seen.push(leafBits(vm, testGfn(vm, 3)));
        const zero = leafSpte(vm, testGfn(vm, 3))!;
        expect(sptePfn(zero.lo, zero.hi)).toBe(vm.host.mem.zeroPfn);
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 3), true);
        seen.push(leafBits(vm, testGfn(vm, 3)));
      });
      expect(seen).toEqual([
        [0x935, 0],
        [0xb37, 0x06000000],
      ]);
      const s = leafSpte(vm, testGfn(vm, 3))!;
      expect(sptePfn(s.lo, s.hi)).not.toBe(vm.host.mem.zeroPfn);
      const k = vm.kvm.stats;
      // read fault; write fault made stale by the COW invalidation (retry); the write again.
      expect([k.eptViolations, k.faultRetries, k.faultsFixed, k.invalidations, k.sptesZapped]).toEqual([
        3, 1, 2, 1, 1,
      ]);
      expect([vm.host.faultStats.cow, vm.kvm.mmuInvalidateSeq, vm.kvm.mmuInvalidateInProgress]).toEqual([
        1, 1, 0,
      ]);
    });

    it('maps THP-backed memory with 2 MiB SPTEs', () => {
      const { vm } = makeVm({ backing: 'anonymous_thp', vcpuBytes: 4 << 20 }, function* (t, vm) {
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 5), true);
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 6), true);
      });
      const s = leafSpte(vm, testGfn(vm, 6))!;
      expect([s.level, s.lo & 0xfff, s.hi]).toEqual([2, 0xbb7, 0x06000000]);
      expect(sptePfn(s.lo, s.hi) % 512).toBe(0);
      expect([vm.kvm.stats.eptViolations, vm.host.faultStats.huge]).toEqual([1, 1]);
    });

    it(`a 4K fault with the host pages of its group of 8 present maps ${expected.prefetched} more (prefetch), A clear`, () => {
      // Pages 1..8 of the test region are one aligned group of 8 gfns (page 0 is one below a 2 MiB
      // boundary). The VMM writes them from userspace, then the vCPU reads page 3 and page 6.
      const group = [1, 2, 3, 4, 5, 6, 7, 8];
      const seen: Array<Array<[number, number] | null>> = [];
      const { vm } = makeVm({}, function* (t, vm) {
        for (const i of group) handleMmFault(t, vm.mm, vm.testVma.start + i * 4096, true);
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 3), false);
        seen.push(group.map((i) => leafBits(vm, testGfn(vm, i))));
        yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 6), false);
      });
      expect(testGfn(vm, 1) % 8).toBe(0);
      // The faulting page as any fault maps it; its neighbours writable and dirty but not accessed
      // (a prefetch starts with A clear), or not mapped at all.
      const prefetched: [number, number] = [0xa37, 0x06000000];
      expect(seen).toEqual([
        group.map((i) => (i === 3 ? [0xb37, 0x06000000] : expected.prefetched > 0 ? prefetched : null)),
      ]);
      expect(seen[0].filter((b) => b !== null).length).toBe(1 + expected.prefetched);
      // Page 6 needed no EPT violation where it was prefetched.
      const k = vm.kvm.stats;
      expect([k.eptViolations, k.faultsFixed]).toEqual(expected.prefetched > 0 ? [1, 1] : [2, 2]);
      expect(group.filter((i) => leafSpte(vm, testGfn(vm, i)) !== null).length).toBe(
        expected.prefetched > 0 ? 1 + expected.prefetched : 2,
      );
    });

    for (const aging of ['lockless', 'write-lock'] as const) {
      it(`A/D bits on, ${aging}: test-age reports young and changes nothing; age clears A once`, () => {
        const young: boolean[] = [];
        const seen: Array<[number, number] | null> = [];
        const { vm } = makeVm({ aging }, function* (t, vm) {
          yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
          const hva = vm.testVma.start;
          young.push(vm.kvm.notifier.testYoung(t, vm.mm, hva));
          seen.push(leafBits(vm, testGfn(vm, 0)));
          young.push(vm.kvm.notifier.clearYoung(t, vm.mm, hva, hva + 4096));
          seen.push(leafBits(vm, testGfn(vm, 0)));
          young.push(vm.kvm.notifier.clearYoung(t, vm.mm, hva, hva + 4096));
          young.push(vm.kvm.notifier.testYoung(t, vm.mm, hva));
        });
        expect(young).toEqual([true, true, false, false]);
        expect(seen).toEqual([
          [0xb37, 0x06000000],
          [0xa37, 0x06000000],
        ]);
        const k = vm.kvm.stats;
        expect([k.sptesAged, k.ageGfnCalls, k.testAgeGfnCalls, k.tlbFlushes]).toEqual([1, 2, 2, 0]);
        expectMmuLocks(vm, 1, aging === 'write-lock' ? 4 : 0);
      });

      it(`A/D bits off, ${aging}: aging makes the SPTE access-tracked; fast page faults restore it`, () => {
        const seen: Array<[number, number] | null> = [];
        const { vm } = makeVm({ aging, eptAd: false }, function* (t, vm) {
          const vcpu = vm.kvm.vcpus[0];
          const gfn = testGfn(vm, 0);
          const hva = vm.testVma.start;
          yield* vcpuAccess(t, vcpu, gfn, true);
          seen.push(leafBits(vm, gfn));
          expect(vm.kvm.notifier.clearYoung(t, vm.mm, hva, hva + 4096)).toBe(true);
          seen.push(leafBits(vm, gfn));
          expect(vm.kvm.notifier.testYoung(t, vm.mm, hva)).toBe(false);
          yield* vcpuAccess(t, vcpu, gfn, false);
          seen.push(leafBits(vm, gfn));
          yield* vcpuAccess(t, vcpu, gfn, true);
          seen.push(leafBits(vm, gfn));
        });
        expect(seen).toEqual([
          [0x837, 0x06100000], // writable, A/D disabled type, no A bit
          [0x830, 0x07500000], // access-tracked: RWX cleared, R and X saved in bits 54 and 56
          [0x835, 0x06100000], // read: R and X restored, W still missing
          [0x837, 0x06100000], // write: MMU-writable, so the fast path sets W
        ]);
        const k = vm.kvm.stats;
        expect([k.fastPageFaults, k.eptViolations, k.sptesAged, k.faultsFixed]).toEqual([2, 3, 1, 1]);
        expectMmuLocks(vm, 1, aging === 'write-lock' ? 2 : 0);
      });
    }

    it('an invalidation zaps exactly the leaves in its range and flushes; the guest refaults', () => {
      const seen: Array<Array<[number, number] | null>> = [];
      const { vm } = makeVm({}, function* (t, vm) {
        const vcpu = vm.kvm.vcpus[0];
        for (let i = 0; i < 4; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
        // MADV_DONTNEED of pages 1 and 2: invalidate_range_start → kvm_unmap_gfn_range.
        madviseDontneed(t, vm.mm, vm.testVma.start + 4096, vm.testVma.start + 3 * 4096);
        seen.push([0, 1, 2, 3].map((i) => leafBits(vm, testGfn(vm, i))));
        yield* vcpuAccess(t, vcpu, testGfn(vm, 2), false);
        seen.push([0, 1, 2, 3].map((i) => leafBits(vm, testGfn(vm, i))));
      });
      expect(seen).toEqual([
        [[0xb37, 0x06000000], null, null, [0xb37, 0x06000000]],
        [[0xb37, 0x06000000], null, [0x935, 0], [0xb37, 0x06000000]],
      ]);
      const k = vm.kvm.stats;
      expect([k.invalidations, k.sptesZapped, k.tlbFlushes, k.eptViolations, k.faultsFixed]).toEqual([
        1, 2, 1, 5, 5,
      ]);
      expect([vm.kvm.mmuInvalidateSeq, vm.kvm.mmuInvalidateInProgress]).toEqual([1, 0]);
    });

    it('zap-all-fast drops every leaf and root; the vCPU reloads a new root and refaults', () => {
      const tables: number[] = [];
      const seen: Array<[number, number] | null> = [];
      const { vm } = makeVm({}, function* (t, vm) {
        const vcpu = vm.kvm.vcpus[0];
        for (let i = 0; i < 3; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
        const old = vcpu.root!;
        tables.push(vm.kvm.mmu.pool.tables);
        yield* vm.kvm.mmu.zapAllFast(t);
        expect(vm.kvm.mmu.isObsoleteRoot(old)).toBe(true);
        expect(vcpu.requests & KVM_REQ_MMU_FREE_OBSOLETE_ROOTS).toBe(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
        seen.push(leafBits(vm, testGfn(vm, 1)));
        tables.push(vm.kvm.mmu.pool.tables);
        yield* vcpuAccess(t, vcpu, testGfn(vm, 1), true);
        expect(vcpu.root).not.toBe(old);
        expect(vm.kvm.mmu.isObsoleteRoot(vcpu.root!)).toBe(false);
        expect(vcpu.requests).toBe(0);
        seen.push(leafBits(vm, testGfn(vm, 0)), leafBits(vm, testGfn(vm, 1)));
        tables.push(vm.kvm.mmu.pool.tables);
      });
      expect(seen).toEqual([null, null, [0xb37, 0x06000000]]);
      // Root, level-3 and level-2 tables and two level-1 tables (the region starts one page below a
      // 2 MiB boundary); only the root, still referenced by the vCPU, survives the zap.
      expect(tables).toEqual([5, 1, 4]);
      const k = vm.kvm.stats;
      expect([k.sptesZapped, k.eptViolations, k.faultsFixed, k.tlbFlushes]).toEqual([
        3,
        4,
        4,
        expected.zapAllFastTlbFlushes,
      ]);
    });
  });
  describeMmioConformance(name, makeVm);
  describeAdPolicyConformance(name, makeVm);
}
