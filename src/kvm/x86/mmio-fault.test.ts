import { describe, expect, it } from 'vitest';
import { type GuestAccessResult, guestMmioAccess } from '../../guest/mmio-access.ts';
import type { SimThread } from '../../sim/thread.ts';
import { runOnVm } from '../../testing/vm-fixture.ts';
import type { KvmVcpu } from '../vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../vcpu-run.ts';
import type { KvmMmuPage } from './shadow-mmu/mmu-page.ts';
import type { ShadowMmu } from './shadow-mmu/shadow-mmu.ts';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage } from './shadow-mmu/zap.ts';
import { formatSpte, isShadowPresent, sptePfn } from './spte.ts';

/** gfn of the local APIC page (0xfee00000): no memslot covers it in the memstress VM. */
const MMIO_GFN = 0xfee00;

/** One access by `vcpu` in guest mode (KVM_RUN, untimed), on thread `t`. */
function* access(t: SimThread, vcpu: KvmVcpu, gfn: number, write = false) {
  let r: GuestAccessResult | null = null;
  const guest = (function* () {
    r = yield* guestMmioAccess(t, vcpu, gfn, write, 0x1234);
  })();
  yield* kvmArchVcpuIoctlRun(t, vcpu, guest, false);
  return r;
}

/** The SPTE at `gfn` in the vCPU's root, as the kernel prints it. */
function spteAt(vcpu: KvmVcpu, gfn: number): string {
  const pool = vcpu.kvm.mmu.pool;
  const idx = pool.walk(vcpu.root!.table, gfn);
  return formatSpte(pool.lo[idx], pool.hi.get(idx));
}

describe('MMIO SPTEs in the fault path, the same on both MMUs', () => {
  for (const tdpMmu of [true, false])
    it(`${tdpMmu ? 'TDP' : 'shadow'} MMU: installs an MMIO SPTE on the first access, emulates later ones, refaults after a memslot update`, () => {
      const seen: Record<string, unknown>[] = [];
      const { vm } = runOnVm({ vcpus: 2, tdpMmu }, function* (t, vm) {
        const kvm = vm.kvm;
        const [v0, v1] = kvm.vcpus;
        const st = kvm.mmioGen.stats;
        kvm.host.mem.trackContent();
        expect(kvm.memslots(0).search(MMIO_GFN)).toBeNull();
        expect(kvm.memslots(0).generation).toBe(4);
        // 1. EPT violation, no slot: kvm_handle_noslot_fault + make_mmio_spte with generation 4
        // (4 << 3 | W+X | gpa 0xfee00000), RET_PF_EMULATE.
        const viol = kvm.stats.eptViolations;
        expect(yield* access(t, v0, MMIO_GFN)).toBe('mmio');
        seen.push({ spte: spteAt(v0, MMIO_GFN), violations: kvm.stats.eptViolations - viol, ...st });
        // 2. The same vCPU again: EPT misconfig, the vCPU's MMIO cache hits.
        expect(yield* access(t, v0, MMIO_GFN)).toBe('mmio');
        // 3. Another vCPU (empty cache): the SPTE's generation is current, so emulate and cache.
        expect(yield* access(t, v1, MMIO_GFN)).toBe('mmio');
        expect(v1.mmio.mmioGfn).toBe(MMIO_GFN);
        seen.push({ violations: kvm.stats.eptViolations - viol, ...st });
        // 4. A memslot elsewhere: generation 6. The cache misses, the SPTE is stale (RET_PF_INVALID),
        // the fault path still finds no slot and rebuilds the MMIO SPTE with generation 6.
        const other = kvm.mm.mmap(4096, 'anonymous');
        expect(yield* kvm.setMemoryRegion(t, 0, 5, 0, 0xf0000000, 4096, other.start)).toBe(0);
        expect(kvm.memslots(0).generation).toBe(6);
        expect(yield* access(t, v0, MMIO_GFN)).toBe('mmio');
        seen.push({ spte: spteAt(v0, MMIO_GFN), ...st });
        // 5. A memslot now covers the gfn (generation 8): stale again, and the refault maps RAM.
        const ram = kvm.mm.mmap(4096, 'anonymous');
        expect(yield* kvm.setMemoryRegion(t, 0, 6, 0, MMIO_GFN * 4096, 4096, ram.start)).toBe(0);
        expect(yield* access(t, v1, MMIO_GFN)).toBe('ram');
        expect(yield* access(t, v1, MMIO_GFN, true)).toBe('ram');
        const pool = kvm.mmu.pool;
        const idx = pool.walk(v1.root!.table, MMIO_GFN);
        const pfn = sptePfn(pool.lo[idx], pool.hi.get(idx));
        seen.push({ present: isShadowPresent(pool.lo[idx]), data: kvm.host.mem.data[pfn], ...st });
      });
      const base = { wraps: 0 };
      expect(seen[0]).toEqual({
        ...base,
        memslotsUpdated: 2,
        spte: '0xfee00026',
        violations: 1,
        mmioSptesCreated: 1,
        mmioFaultsEmulated: 0,
        mmioFaultsInvalid: 0,
        mmioFaultsRetried: 0,
        mmioCacheHits: 0,
        mmioExits: 1,
      });
      expect(seen[1]).toEqual({
        ...base,
        memslotsUpdated: 2,
        violations: 1,
        mmioSptesCreated: 1,
        mmioFaultsEmulated: 2,
        mmioFaultsInvalid: 0,
        mmioFaultsRetried: 0,
        mmioCacheHits: 1,
        mmioExits: 3,
      });
      expect(seen[2]).toEqual({
        ...base,
        memslotsUpdated: 3,
        spte: '0xfee00036',
        mmioSptesCreated: 2,
        mmioFaultsEmulated: 2,
        mmioFaultsInvalid: 1,
        mmioFaultsRetried: 0,
        mmioCacheHits: 1,
        mmioExits: 4,
      });
      expect(seen[3]).toEqual({
        ...base,
        memslotsUpdated: 4,
        present: true,
        data: 0x1234,
        mmioSptesCreated: 2,
        mmioFaultsEmulated: 2,
        mmioFaultsInvalid: 2,
        mmioFaultsRetried: 0,
        mmioCacheHits: 1,
        mmioExits: 4,
      });
      expect(vm.kvm.memslots(0).generation).toBe(8);
    });
});

describe('X86Mmu.getMmioSpte on the TDP MMU', () => {
  it('returns the MMIO SPTE the fault path installed, and false for a RAM leaf or an empty entry', () => {
    const seen: unknown[] = [];
    runOnVm({}, function* (t, vm) {
      const v = vm.kvm.vcpus[0];
      expect(yield* access(t, v, MMIO_GFN)).toBe('mmio');
      const s = { lo: 0, hi: 0 };
      seen.push(vm.kvm.mmu.getMmioSpte(t, v.root!, MMIO_GFN, s), formatSpte(s.lo, s.hi));
      // The neighbouring gfn shares the leaf table but has no SPTE yet.
      seen.push(vm.kvm.mmu.getMmioSpte(t, v.root!, MMIO_GFN + 1, s), formatSpte(s.lo, s.hi));
      const ram = vm.args.gpa / 4096;
      expect(yield* access(t, v, ram)).toBe('ram');
      seen.push(vm.kvm.mmu.getMmioSpte(t, v.root!, ram, s), isShadowPresent(s.lo));
    });
    expect(seen).toEqual([true, '0xfee00026', false, '0x8000000000000000', false, true]);
  });
});

describe('MMIO SPTEs on the shadow MMU', () => {
  it('mark_mmio_spte sets mmio_cached on the level-1 page only; zapping that page clears the MMIO SPTE', () => {
    const seen: unknown[] = [];
    runOnVm({ tdpMmu: false }, function* (t, vm) {
      const mmu = vm.kvm.mmu as ShadowMmu;
      const v = vm.kvm.vcpus[0];
      expect(yield* access(t, v, MMIO_GFN)).toBe('mmio');
      const pool = mmu.pool;
      const idx = pool.walk(v.root!.table, MMIO_GFN);
      const sp = mmu.sptepToSp(idx);
      seen.push(sp.level, formatSpte(pool.lo[idx], pool.hi.get(idx)));
      seen.push(
        mmu.activeMmuPages
          .toArray()
          .filter((p) => p.mmioCached)
          .map((p) => [p.level, p.gfn]),
      );
      vm.kvm.mmuLock.writeLock(t);
      const invalid: KvmMmuPage[] = [];
      kvmMmuPrepareZapPage(mmu, t, sp, invalid, { nrZapped: 0 });
      kvmMmuCommitZapPage(mmu, t, invalid);
      vm.kvm.mmuLock.writeUnlock(t);
      seen.push(mmu.stats.mmioSptesZapped, formatSpte(pool.lo[idx], pool.hi.get(idx)));
      // The next access takes an EPT violation and marks a new MMIO SPTE in a new page.
      expect(yield* access(t, v, MMIO_GFN)).toBe('mmio');
      seen.push(vm.kvm.mmioGen.stats.mmioSptesCreated, spteAt(v, MMIO_GFN));
    });
    expect(seen).toEqual([
      1,
      '0xfee00026',
      [[1, MMIO_GFN - (MMIO_GFN % 512)]],
      1,
      '0x8000000000000000',
      2,
      '0xfee00026',
    ]);
  });
});
