import { describe, expect, it } from 'vitest';
import { adPolicy } from '../kvm/ad-policy.ts';
import { loadProfile } from '../sim/profile.ts';
import { runOnVm, testGfn, vcpuAccess } from '../testing/vm-fixture.ts';
import { folioMarkAccessed } from './folio-mark-accessed.ts';
import { NUMA_BALANCING_DEFAULTS, NumaBalancing } from './numa-balancing.ts';
import { PG_ACTIVE, PG_IDLE, PG_REFERENCED, PG_YOUNG } from './page-flags.ts';
import { ptePfn, pteProtnone } from './page-table.ts';
import { taskNumaWork } from './task-numa-work.ts';

const PAGES = 512;

interface Scenario {
  policy: string;
  mmUsers: number;
  /** Flags to set on every test folio before the scan (PG_idle, PG_young...). */
  preFlags?: number;
}

/**
 * 2 MiB of guest memory written by a vCPU thread on node 0 (so first-touched there), one
 * task_numa_work pass, then the thread moves to node 1 (sched_setaffinity) and reads every page
 * again, then once more.
 */
function scenario(s: Scenario) {
  const out = {
    sptesZappedByScan: 0,
    updated: 0,
    protnoneAfterScan: 0,
    nodesAfter: [0, 0],
    sptesZappedAfterMove: 0,
    idleAfter: 0,
    youngAfter: 0,
    secondPassFaults: 0,
    nb: null as unknown as NumaBalancing,
  };
  const { vm } = runOnVm(
    { profile: loadProfile('seed003-x86'), vcpuBytes: PAGES * 4096, adPolicy: adPolicy(s.policy)! },
    function* (t, vm, engine) {
      const host = vm.host;
      const mm = vm.mm;
      const vcpu = vm.kvm.vcpus[0];
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      host.lru.drainAll(t);
      const sysctls = { ...NUMA_BALANCING_DEFAULTS, scanDelayMs: 0 };
      const nb = new NumaBalancing(host, mm, sysctls, s.mmUsers, 0);
      host.numaBalancing = nb;
      out.nb = nb;
      const pfns = [];
      for (let i = 0; i < PAGES; i++) {
        const idx = mm.pt.walk(mm.pgd, vm.testVma.start / 4096 + i, 1, false);
        pfns.push(ptePfn(mm.pt.entries[idx]));
      }
      if (s.preFlags) for (const pfn of pfns) host.mem.flags[pfn] |= s.preFlags;
      const zapped0 = vm.kvm.stats.sptesZapped;
      expect(taskNumaWork(t, nb)).toBe(true);
      out.sptesZappedByScan = vm.kvm.stats.sptesZapped - zapped0;
      for (let i = 0; i < PAGES; i++) {
        const idx = mm.pt.walk(mm.pgd, vm.testVma.start / 4096 + i, 1, false);
        if (pteProtnone(mm.pt.entries[idx])) out.protnoneAfterScan++;
      }
      expect(engine.moveToNode(t, 1)).toBe(true);
      const zapped1 = vm.kvm.stats.sptesZapped;
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      out.sptesZappedAfterMove = vm.kvm.stats.sptesZapped - zapped1;
      host.lru.drainAll(t);
      for (let i = 0; i < PAGES; i++) {
        const idx = mm.pt.walk(mm.pgd, vm.testVma.start / 4096 + i, 1, false);
        const pfn = ptePfn(mm.pt.entries[idx]);
        out.nodesAfter[host.mem.pfnToNid(pfn)]++;
        if (host.mem.flags[pfn] & PG_IDLE) out.idleAfter++;
        if (host.mem.flags[pfn] & PG_YOUNG) out.youngAfter++;
      }
      const faults = nb.stats.hintFaults;
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      out.secondPassFaults = nb.stats.hintFaults - faults;
    },
  );
  expect(vm).toBeDefined();
  return out;
}

describe('NUMA balancing of a VM whose vCPU thread moved away from its memory', () => {
  // Slot 0 holds 521 pages (512 + 4 guest page-table pages + 5 stack pages), 265 of them written
  // by the VMM (ELF 256, page tables 4, stack 5); the test region is 512 pages, all written.
  it('scans both VMAs, makes every present PTE PROT_NONE, zaps the SPTEs, and migrates on the hinting faults', () => {
    const o = scenario({ policy: '6.13', mmUsers: 2 });
    const st = o.nb.stats;
    expect(st.scans).toBe(1);
    expect(st.pagesScanned).toBe(512 + 521);
    expect(st.pteUpdates).toBe(512 + 265);
    expect(st.pteSkipped).toBe(0);
    expect(st.invalidations).toBe(2);
    expect(o.protnoneAfterScan).toBe(512);
    // change_prot_numa's invalidation zaps every SPTE of the range, each with its Accessed bit set.
    expect(o.sptesZappedByScan).toBe(512);
    expect(st.accessedZaps).toBe(512);
    expect(st.accessedDropped).toBe(512);
    // Reading from node 1: one hinting fault per page, each migrates its page to node 1;
    // try_to_migrate's invalidation finds no SPTE left to zap.
    expect(st.hintFaults).toBe(512);
    expect(st.hintFaultsLocal).toBe(0);
    expect(st.pagesMigrated).toBe(512);
    expect(st.migrateFail).toBe(0);
    expect(o.sptesZappedAfterMove).toBe(0);
    expect(o.nodesAfter).toEqual([0, 512]);
    // The scan reached the end of the mm: the next one starts a new pass.
    expect(st.scanSeq).toBe(1);
    expect(o.secondPassFaults).toBe(0);
  });

  it('skips folios already on the node of a single-threaded mm (target_node), yet still zaps their SPTEs', () => {
    // The scan runs on node 0, where every folio is: nothing becomes PROT_NONE, but the
    // invalidation covers the whole range, so KVM zaps all 512 SPTEs anyway.
    const o = scenario({ policy: '6.13', mmUsers: 1 });
    const st = o.nb.stats;
    expect(st.pteUpdates).toBe(0);
    expect(st.pteSkipped).toBe(512 + 265);
    expect(o.sptesZappedByScan).toBe(512);
    expect(o.protnoneAfterScan).toBe(0);
    // No PTE changed, so no hinting fault: the pages stay on node 0.
    expect(st.hintFaults).toBe(0);
    expect(o.nodesAfter).toEqual([512, 0]);
  });

  it('migration carries PG_idle and PG_young to the new folio (folio_migrate_flags)', () => {
    const o = scenario({ policy: '6.13', mmUsers: 2, preFlags: PG_IDLE | PG_YOUNG });
    expect(o.nb.stats.pagesMigrated).toBe(512);
    // PG_young is copied; PG_idle is copied too, then cleared by GUP's FOLL_TOUCH and KVM's
    // map-time folio_mark_accessed (the classic LRU: lru_gen is off here).
    expect(o.youngAfter).toBe(512);
    expect(o.idleAfter).toBe(0);
  });

  it('pre-6.13 marks each zapped accessed SPTE accessed: with the classic LRU that clears PG_idle', () => {
    const o = scenario({ policy: 'pre-6.13', mmUsers: 1, preFlags: PG_IDLE });
    expect(o.nb.stats.accessedZaps).toBe(512);
    expect(o.nb.stats.accessedToIdleClear).toBe(512);
    expect(o.nb.stats.accessedDropped).toBe(0);
    expect(o.idleAfter).toBe(0);
  });
});

describe('folio_mark_accessed', () => {
  it('with the classic LRU: referenced, then active, and PG_idle cleared each time', () => {
    runOnVm({}, (t, vm) => {
      const host = vm.host;
      const pfn = host.mem.allocPages(t, 0, 0);
      host.mem.flags[pfn] |= PG_IDLE;
      folioMarkAccessed(host, pfn);
      expect(host.mem.flags[pfn] & (PG_REFERENCED | PG_ACTIVE | PG_IDLE)).toBe(PG_REFERENCED);
      host.mem.flags[pfn] |= PG_IDLE;
      folioMarkAccessed(host, pfn);
      expect(host.mem.flags[pfn] & (PG_REFERENCED | PG_ACTIVE | PG_IDLE)).toBe(PG_ACTIVE);
    });
  });

  it('with lru_gen: PG_referenced then refs counted, PG_idle kept', () => {
    runOnVm({ lruGen: true }, (t, vm) => {
      const host = vm.host;
      const pfn = host.mem.allocPages(t, 0, 0);
      host.mem.flags[pfn] |= PG_IDLE;
      folioMarkAccessed(host, pfn);
      expect(host.mem.flags[pfn] & (PG_REFERENCED | PG_IDLE)).toBe(PG_REFERENCED | PG_IDLE);
      const before = host.mem.flags[pfn];
      folioMarkAccessed(host, pfn);
      expect(host.mem.flags[pfn] - before).toBe(1 << 16);
      expect(host.mem.flags[pfn] & PG_IDLE).toBe(PG_IDLE);
    });
  });
});
