import { describe, expect, it } from 'vitest';
import { type GuestAccessResult, guestMmioAccess } from '../../guest/mmio-access.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { vmCreate } from '../../vm/vm-builder.ts';
import type { Kvm } from '../kvm.ts';
import { kvmEnterGuestPrepare } from '../vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../vcpu-run.ts';
import type { MmioGenOptions } from './mmio-gen.ts';
import { findMmioZapStrategy, installMmioZapStrategy, type MmioZapCounters } from './mmio-zap-strategies.ts';
import type { ShadowMmu } from './shadow-mmu/shadow-mmu.ts';
import { formatSpte } from './spte.ts';

/**
 * Golden scenarios: a 2-address-space VM with one RAM page (gfn 0) in each, one vCPU, a RAM write
 * and an MMIO read (the local APIC gfn, no memslot), then FLAGS_ONLY updates of slot 0 until the
 * -150 start wraps the generation, zap-all-fast, and the MMIO access again. Exact SPTE words (the
 * generation bits included) and counters, on each MMU and each MMIO SPTE layout.
 */
const MMIO_GFN = 0xfee00;
const KVM_MEM_LOG_DIRTY_PAGES = 1;

function spteAt(kvm: Kvm, gfn: number): string {
  const pool = kvm.mmu.pool;
  const idx = pool.walk(kvm.vcpus[0].root!.table, gfn);
  return formatSpte(pool.lo[idx], pool.hi.get(idx));
}

function* access(t: SimThread, kvm: Kvm, gfn: number, write: boolean) {
  const v = kvm.vcpus[0];
  let r: GuestAccessResult | null = null;
  yield* kvmArchVcpuIoctlRun(
    t,
    v,
    (function* () {
      r = yield* guestMmioAccess(t, v, gfn, write, 0x1234);
    })(),
    false,
  );
  return r;
}

function* churn(t: SimThread, kvm: Kvm, as: number, n: number) {
  const slot = kvm.memslots(as).byGfn[0];
  for (let i = 0; i < n; i++) {
    const flags = kvm.memslots(as).byGfn[0].flags ^ KVM_MEM_LOG_DIRTY_PAGES;
    expect(yield* kvm.setMemoryRegion(t, as, 0, flags, 0, 4096, slot.userspaceAddr)).toBe(0);
  }
}

/** Runs the scenario; `as` and `updates`: the churn that wraps that address space's generation. */
function scenario(tdpMmu: boolean, mmioGen: MmioGenOptions, as: number, updates: number) {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const { mm, kvm } = vmCreate(engine, { hostPages: 4096, aging: 'lockless', eptAd: true, tdpMmu, mmioGen });
  const seen: Record<string, unknown> = {};
  let c: MmioZapCounters | null = null;
  engine.spawn('main', function* (t) {
    for (const a of [0, 1]) {
      const vma = mm.mmap(4096, 'anonymous');
      expect(yield* kvm.setMemoryRegion(t, a, 0, 0, 0, 4096, vma.start)).toBe(0);
    }
    kvm.createVcpu();
    c = installMmioZapStrategy(kvm, findMmioZapStrategy('zap-all-fast')!);
    expect(yield* access(t, kvm, 0, true)).toBe('ram');
    expect(yield* access(t, kvm, MMIO_GFN, false)).toBe('mmio');
    seen.ram = spteAt(kvm, 0);
    seen.mmio = spteAt(kvm, MMIO_GFN);
    yield* churn(t, kvm, as, updates);
    kvmEnterGuestPrepare(t, kvm.vcpus[0]);
    seen.afterZap = [spteAt(kvm, 0), spteAt(kvm, MMIO_GFN)];
    expect(yield* access(t, kvm, MMIO_GFN, false)).toBe('mmio');
    expect(yield* access(t, kvm, 0, false)).toBe('ram');
    seen.refaulted = [spteAt(kvm, 0), spteAt(kvm, MMIO_GFN)];
    seen.generations = [kvm.memslots(0).generation % 2 ** 20, kvm.memslots(1).generation % 2 ** 20];
  });
  engine.run();
  const z = c as unknown as MmioZapCounters;
  const shadow = tdpMmu ? null : (kvm.mmu as ShadowMmu).stats;
  return {
    ...seen,
    gen: { ...kvm.mmioGen.stats },
    zap: [z.wraps, z.pagesVisited, z.pagesZapped, z.sptesZapped, z.mmioSptesZapped],
    kvm: [kvm.stats.eptViolations, kvm.stats.sptesZapped, kvm.stats.tlbFlushes],
    shadow:
      shadow === null
        ? null
        : [shadow.mmuShadowZapped, shadow.pagesAllocated, shadow.pagesFreed, shadow.mmioSptesZapped],
  };
}

/** The RAM leaf of gfn 0 (pfn 0x1001, RWX, A/D set by the write, memtype WB, SPTE_MMU_PRESENT). */
const RAM = '0x600000001001b37';
const NONPRESENT = '0x8000000000000000';
/** A wrap with zap-all-fast, counted the same on both MMUs: updates, one wrap, two MMIO SPTEs made. */
function genStats(memslotsUpdated: number) {
  return {
    memslotsUpdated,
    wraps: 1,
    mmioSptesCreated: 2,
    mmioFaultsEmulated: 0,
    mmioFaultsInvalid: 0,
    mmioFaultsRetried: 0,
    mmioCacheHits: 0,
    mmioExits: 2,
  };
}

describe("golden MMIO scenarios: the same SPTEs on both MMUs, each MMU's zap counters", () => {
  // zap: wraps, pages visited, pages zapped, leaf SPTEs zapped, MMIO SPTEs zapped (shadow only).
  // kvm: EPT violations (RAM write, MMIO, and both again after the zap), leaves zapped, TLB flushes.
  // shadow: mmu_shadow_zapped, pages allocated and freed, MMIO SPTEs zapped. The shadow MMU's
  // six pages are the root, the level-3 page, and a level-2 and level-1 page for each of gfn 0
  // and the APIC gfn; the obsolete root is prepared for zapping again when the vCPU drops it.
  const byMmu = {
    tdp: { zap: [1, 0, 0, 1, 0], kvm: [4, 1, 0], shadow: null },
    shadow: { zap: [1, 6, 6, 1, 1], kvm: [4, 1, 2], shadow: [7, 12, 6, 1] },
  };
  for (const mmu of ['tdp', 'shadow'] as const) {
    it(`${mmu} MMU, v5.1 layout: address space 0 wraps on its 75th update; the MMIO SPTE comes back at generation 0`, () => {
      expect(scenario(mmu === 'tdp', { kernel: 'v5.1', start: 'minus-150' }, 0, 74)).toEqual({
        ram: RAM,
        // Generation 2^52 - 148: bits 0-7 (0x6c) in SPTE bits 3-10, bits 8-18 (0x7ff) in 52-62; W+X.
        mmio: '0x7ff00000fee00366',
        afterZap: [NONPRESENT, NONPRESENT],
        refaulted: [RAM, '0xfee00006'],
        generations: [0, 2 ** 20 - 146],
        gen: genStats(76),
        ...byMmu[mmu],
      });
    });
    it(`${mmu} MMU, v4.20 layout: address space 1 wraps after 37 updates; address space 0's SPTE is rebuilt as it was`, () => {
      expect(scenario(mmu === 'tdp', { kernel: 'v4.20', start: 'minus-150' }, 1, 36)).toEqual({
        ram: RAM,
        // Generation 2^20 - 146 of address space 0: bits 1-9 (0x1b7) in SPTE bits 3-11 (so bit 11,
        // today's present bit, is set), bits 10-19 (0x3ff) in 52-61, SPTE_SPECIAL_MASK bit 62.
        mmio: '0x7ff00000fee00dbe',
        afterZap: [NONPRESENT, NONPRESENT],
        refaulted: [RAM, '0x7ff00000fee00dbe'],
        generations: [2 ** 20 - 146, 0],
        gen: genStats(38),
        ...byMmu[mmu],
      });
    });
  }
});
