/**
 * Models no kernel file: the mmio-gen experiment. A memstress guest writes its RAM every
 * iteration and reads emulated MMIO gfns spread one per GiB (a BAR per device in the 64-bit MMIO
 * window: each gets a level-2 and an mmio_cached level-1 shadow page), while a VMM thread toggles a
 * VGA-window memslot, or the windows of a scenario (scenario.ts) in turn, at a fixed rate (as QEMU
 * does, and as the selftests
 * memslot_modification_stress_test and memslot_perf_test churn memslots). Every memslot update runs
 * kvm_mmu_invalidate_mmio_sptes; a generation wrap runs the chosen zap strategy.
 */
import { guestAccess } from '../../guest/memstress.ts';
import { guestMmioAccess } from '../../guest/mmio-access.ts';
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../../kvm/vcpu-run.ts';
import { installMmioZapStrategy, type MmioZapStrategyVariant } from '../../kvm/x86/mmio-zap-strategies.ts';
import {
  kvmMmuCalculateDefaultMmuPages,
  kvmVmIoctlSetNrMmuPages,
} from '../../kvm/x86/shadow-mmu/mmu-pages-limit.ts';
import { ShadowMmu } from '../../kvm/x86/shadow-mmu/shadow-mmu.ts';
import { CAT } from '../../sim/accounting.ts';
import { Engine } from '../../sim/engine.ts';
import { DEFAULT_PROFILE, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { createMemstressVm, type MemstressVm } from '../access-tracking/memstress-vm.ts';
import type { MmioGenRunOptions } from './options.ts';

/** gfns per GiB, and where the MMIO gfns start (64 GiB, above any RAM of the guest's slot 0). */
const GIB_PAGES = 1 << 18;
const MMIO_BASE_GFN = 64 * GIB_PAGES;
/** The guest runs one memstress iteration every ITERATION_NS and idles in between. */
export const ITERATION_NS = 1_000_000;

/** What one strategy cost in one run. */
export interface MmioGenResult {
  strategy: string;
  mmu: string;
  pages: number;
  memslotUpdates: number;
  wraps: number;
  /** mmu_lock held for write by the wrap zaps, per wrap (0 without a wrap). */
  writeHoldNsPerWrap: number;
  pagesVisited: number;
  restarts: number;
  pagesZapped: number;
  sptesZapped: number;
  mmioSptesZapped: number;
  /** Time the vCPU threads spent waiting for locks (mmu_lock above all), whole run. */
  vcpuStallNs: number;
  /** EPT violations after the first wrap: RAM and MMIO SPTEs the zap took away, faulted back. */
  refaults: number;
  simulatedNs: number;
}

/** The gfn of MMIO page `i`: one per GiB. */
export function mmioGenGfn(i: number): number {
  return MMIO_BASE_GFN + i * GIB_PAGES;
}

/** One vCPU: a memstress write of its RAM and a read of its MMIO gfns, once per ITERATION_NS. */
function* vcpuLoop(t: SimThread, vm: MemstressVm, vcpu: KvmVcpu, mmio: number[], done: { v: boolean }) {
  const va = vm.args.vcpuArgs[vcpu.id];
  const base = va.gpa / 4096;
  let next = t.now;
  while (!done.v) {
    const guest = (function* () {
      for (let i = 0; i < va.pages; i++) yield* guestAccess(t, vcpu, base + i, true);
      for (const gfn of mmio) yield* guestMmioAccess(t, vcpu, gfn, false);
    })();
    yield* kvmArchVcpuIoctlRun(t, vcpu, guest);
    next += ITERATION_NS;
    t.until(CAT.other, next);
    if (t.mustSync()) yield;
  }
}

/** Runs `strategy` once with `o` (its `pages` MMIO gfns). Deterministic. */
export function runMmioGen(
  o: MmioGenRunOptions,
  strategy: MmioZapStrategyVariant,
  pages: number,
): MmioGenResult {
  const engine = new Engine({ profile: loadProfile(DEFAULT_PROFILE), seed: 1, cpus: o.vcpus + 2 });
  let result: MmioGenResult | null = null;
  engine.spawn('main', function* (t) {
    const vm = yield* createMemstressVm(t, engine, {
      vcpus: o.vcpus,
      vcpuBytes: o.vcpuBytes,
      overlap: false,
      backing: 'anonymous',
      aging: 'lockless',
      eptAd: true,
      tdpMmu: o.mmu === 'tdp',
      mmioGen: { kernel: 'v5.1', start: o.startGen === 'hack' ? 'minus-150' : 'as-id' },
    });
    const kvm = vm.kvm;
    // The scenario's memslots (by default the VGA window), each with its own mapping.
    const hvas: number[] = [];
    for (const m of o.scenario.memslots) {
      hvas.push(kvm.mm.mmap(m.size, 'anonymous').start);
      if ((yield* kvm.setMemoryRegion(t, 0, m.slot, 0, m.gpa, m.size, hvas[hvas.length - 1])) !== 0)
        throw new Error(`mmio-gen: memslot ${m.slot} refused`);
    }
    // KVM_SET_NR_MMU_PAGES: room for the MMIO pages' shadow pages (a level-2 and a level-1 each)
    // beyond the default (2% of the memslots' pages). A guest with BARs spread over this many GiB
    // has the RAM whose default would hold them; the model's small RAM would not, and recycling
    // would take mmio_cached pages away between wraps.
    if (kvm.mmu instanceof ShadowMmu)
      kvmVmIoctlSetNrMmuPages(kvm.mmu, t, kvmMmuCalculateDefaultMmuPages(kvm) + 2 * pages);
    const windows = o.scenario.memslots.flatMap((m, i) =>
      m.toggle ? [{ ...m, hva: hvas[i], present: true }] : [],
    );
    const c = installMmioZapStrategy(kvm, strategy);
    const zap = kvm.mmioGen.zap;
    let violationsAtWrap = -1;
    kvm.mmioGen.zap = function* (zt, k) {
      yield* zap(zt, k);
      if (violationsAtWrap < 0) violationsAtWrap = k.stats.eptViolations;
    };
    const done = { v: false };
    const vcpuThreads = kvm.vcpus.map((vcpu) => {
      const mine: number[] = [];
      for (let i = vcpu.id; i < pages; i += o.vcpus) mine.push(mmioGenGfn(i));
      return engine.spawn(`vcpu${vcpu.id}`, (vt) => vcpuLoop(vt, vm, vcpu, mine, done));
    });
    const start = t.now;
    const period = 1e9 / o.rate;
    for (let u = 0; u < o.updates; u++) {
      t.until(CAT.other, start + Math.round((u + 1) * period));
      if (t.mustSync()) yield;
      // The windows take turns: each update deletes or re-adds the next one.
      const w = windows[u % windows.length];
      if ((yield* kvm.setMemoryRegion(t, 0, w.slot, 0, w.gpa, w.present ? 0 : w.size, w.hva)) !== 0)
        throw new Error(`mmio-gen: toggling memslot ${w.slot} refused`);
      w.present = !w.present;
    }
    done.v = true;
    // Let the vCPUs finish their iteration before reading the counters.
    t.until(CAT.other, t.now + 2 * ITERATION_NS);
    yield;
    result = {
      strategy: strategy.name,
      mmu: o.mmu,
      pages,
      memslotUpdates: o.updates,
      wraps: c.wraps,
      writeHoldNsPerWrap: c.wraps === 0 ? 0 : Math.round(c.writeHoldNs / c.wraps),
      pagesVisited: c.pagesVisited,
      restarts: c.restarts,
      pagesZapped: c.pagesZapped,
      sptesZapped: c.sptesZapped,
      mmioSptesZapped: c.mmioSptesZapped,
      vcpuStallNs: vcpuThreads.reduce((s, vt) => s + vt.lockWaitNs(), 0),
      refaults: violationsAtWrap < 0 ? 0 : kvm.stats.eptViolations - violationsAtWrap,
      simulatedNs: t.now - start,
    };
  });
  engine.run();
  if (result === null) throw new Error('mmio-gen: the run did not finish');
  return result;
}

/** Runs every strategy of `o` at `o.pages`, or at each `o.sweepPages` value. */
export function runMmioGenAll(o: MmioGenRunOptions): MmioGenResult[] {
  const out: MmioGenResult[] = [];
  for (const s of o.strategies) for (const p of o.sweepPages ?? [o.pages]) out.push(runMmioGen(o, s, p));
  return out;
}
