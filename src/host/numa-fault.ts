/**
 * Models mm/memory.c: do_numa_page (doNumaPage) with numa_migrate_check and
 * numa_rebuild_single_mapping; and should_numa_migrate_memory of kernel/sched/fair.c, reached
 * through mpol_misplaced (mm/mempolicy.c) for the default (MPOL_LOCAL, MPOL_F_MORON) policy.
 */
import type { SimThread } from '../sim/thread.ts';
import { migrateMisplacedFolio, migrateMisplacedFolioPrepare } from './migrate.ts';
import type { Mm } from './mm.ts';
import { cpupidNid, cpupidTid, mkCpupid, type NumaBalancing } from './numa-balancing.ts';
import { PTE_ACCESSED, PTE_PRESENT, PTE_WRITE, ptePfn } from './page-table.ts';
import type { Vma } from './vma.ts';

/** Hinting faults allowed to migrate at once while the task is young (numa_scan_seq <= 4). */
const EARLY_SCAN_SEQ = 4;

/**
 * should_numa_migrate_memory for the faulting thread: record it as the folio's last_cpupid; allow
 * first or private faults early in the task's life, otherwise only when the last fault came from
 * the destination node too (the two-stage filter) and was private. Without numa_groups a shared
 * fault that passes the filter migrates.
 */
function shouldNumaMigrateMemory(t: SimThread, nb: NumaBalancing, pfn: number, dstNid: number): boolean {
  const last = nb.lastCpupid[pfn];
  nb.lastCpupid[pfn] = mkCpupid(t.id, dstNid);
  const mine = last >= 0 && cpupidTid(last) === t.id;
  if ((nb.preferredNid < 0 || nb.numaScanSeq <= EARLY_SCAN_SEQ) && (last < 0 || mine)) return true;
  if (last >= 0 && cpupidNid(last) !== dstNid) return false;
  return true;
}

/**
 * do_numa_page for the PROT_NONE PTE at `idx`: a hinting fault. numa_migrate_check counts it
 * (numa_hint_faults, _local when the folio is on this CPU's node) and asks mpol_misplaced for a
 * target: this node, when the folio is elsewhere and should_numa_migrate_memory agrees. A folio
 * that can be isolated is migrated there (migrate_misplaced_folio), which maps the new folio
 * itself; otherwise (not misplaced, or the migration failed) the PTE is made present again as it
 * was, young, and writable if the VMA is (numa_rebuild_single_mapping: an exclusive anonymous
 * page may be). task_numa_fault accounts the fault either way. Returns VM_FAULT_OK (0).
 */
export function doNumaPage(t: SimThread, mm: Mm, vma: Vma, idx: number): number {
  const host = mm.host;
  const nb = host.numaBalancing!;
  const E = mm.pt.entries;
  const e = E[idx];
  const pfn = ptePfn(e);
  const mem = host.mem;
  const thisNid = host.engine.topology.nodeOf(t.cpu);
  let nid = mem.pfnToNid(pfn);
  const local = nid === thisNid;
  nb.stats.hintFaults++;
  if (local) nb.stats.hintFaultsLocal++;
  const lastCpupid = nb.lastCpupid[pfn];
  const should = shouldNumaMigrateMemory(t, nb, pfn, thisNid);
  const target = !local && should ? thisNid : -1;
  let failed = false;
  if (target >= 0) {
    if (migrateMisplacedFolioPrepare(t, host, pfn, target)) {
      const newPfn = migrateMisplacedFolio(t, host, pfn, target);
      if (newPfn >= 0) {
        nb.taskNumaFault(t, lastCpupid, target, 1, local, true, false);
        return 0;
      }
    }
    failed = true;
    nb.stats.migrateFail++;
  }
  // numa_rebuild_single_mapping: pte_modify back to vm_page_prot, pte_mkyoung, writable if it may be.
  E[idx] = (E[idx] | PTE_PRESENT | PTE_ACCESSED | (vma.writable ? PTE_WRITE : 0)) >>> 0;
  nid = mem.pfnToNid(pfn);
  nb.taskNumaFault(t, lastCpupid, nid, 1, local, false, failed);
  return 0;
}
