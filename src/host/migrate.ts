/**
 * Models mm/migrate.c for one base-page folio: migrate_misplaced_folio_prepare (with
 * migrate_balanced_pgdat and folio_isolate_lru), migrate_misplaced_folio → migrate_pages →
 * migrate_folio_unmap (try_to_migrate and try_to_migrate_one of mm/rmap.c, under an
 * MMU_NOTIFY_MIGRATE invalidation), folio_copy, folio_migrate_mapping, folio_migrate_flags,
 * remove_migration_pte, folio_add_lru of the new folio and the release of the old one (to its
 * node's free list: the model's per-CPU lists are not per zone).
 */
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';
import type { Host } from './host.ts';
import {
  PG_ACTIVE,
  PG_DIRTY,
  PG_IDLE,
  PG_LRU,
  PG_REFERENCED,
  PG_SWAPBACKED,
  PG_WORKINGSET,
  PG_YOUNG,
} from './page-flags.ts';
import { mkPte, PAGE_SIZE, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT } from './page-table.ts';
import { type RmapHit, rmapWalk } from './rmap.ts';

/** Flags folio_migrate_flags carries to the new folio (PG_active is moved, not copied). */
const MIGRATED_FLAGS = PG_REFERENCED | PG_WORKINGSET | PG_DIRTY | PG_YOUNG | PG_IDLE | PG_SWAPBACKED;

/**
 * migrate_misplaced_folio_prepare: refuse a target node that would drop below its high watermark
 * (migrate_balanced_pgdat), then isolate the folio from the LRU (folio_isolate_lru, which fails for
 * a folio still waiting in a per-CPU LRU-add batch). Returns whether the folio is isolated.
 */
export function migrateMisplacedFolioPrepare(t: SimThread, host: Host, pfn: number, nid: number): boolean {
  const mem = host.mem;
  const node = mem.nodes[nid];
  if (node.freePages() <= node.wmarkHigh + 1) return false;
  if (!(mem.flags[pfn] & PG_LRU)) return false;
  const lock = host.lru.lruLock(mem.memcgOf(pfn), mem.pfnToNid(pfn));
  lock.lock(t);
  t.advance(host.engine.profile.lruMoveFolioNs);
  mem.flags[pfn] &= ~PG_LRU;
  host.lru.onLru--;
  host.lruGen?.isolateFolio(pfn);
  lock.unlock(t);
  return true;
}

const hit: RmapHit = { mm: null as never, addr: 0, entryIdx: 0, size: 0 };

/**
 * migrate_misplaced_folio(folio, node) for an isolated base-page folio, MIGRATE_ASYNC: allocate
 * the new folio on `nid` only (__GFP_THISNODE), unmap the old one (try_to_migrate: the secondary
 * MMUs are invalidated for the page, MMU_NOTIFY_MIGRATE, and the PTE becomes a migration entry that
 * remembers young and dirty), copy the page (charged as clear_page's stores plus a read stream on
 * the source node's bandwidth: the model has no copy term), move mapping, index, memcg and flags
 * (folio_migrate_flags copies PG_referenced, PG_workingset, PG_dirty, PG_young, PG_idle, the MGLRU
 * refs and last_cpupid, and moves PG_active), map the new folio where the entry was
 * (remove_migration_pte: old unless the entry was young, dirty if it was; read-only, as the entry
 * of a PROT_NONE PTE is not writable), add it to the LRU through this CPU's batch (folio_add_lru,
 * PG_active under MGLRU in a fault) and free the old folio. On failure the old folio goes back to
 * the LRU. Returns the new pfn, or -1.
 */
export function migrateMisplacedFolio(t: SimThread, host: Host, src: number, nid: number): number {
  const mem = host.mem;
  const nb = host.numaBalancing;
  const dst = mem.allocPages(t, nid, 0);
  if (dst >= 0 && mem.pfnToNid(dst) !== nid) mem.freePages(dst, 0);
  if (dst < 0 || mem.pfnToNid(dst) !== nid) {
    putbackLru(t, host, src);
    return -1;
  }
  // try_to_migrate → try_to_migrate_one, under MMU_NOTIFY_MIGRATE.
  let young = false;
  let dirty = false;
  const mapped = rmapWalk(t, host, src, hit, (tt, h) => {
    const range = {
      mm: h.mm,
      start: h.addr,
      end: h.addr + h.size,
      event: 'migrate' as const,
      blockable: true,
    };
    if (nb !== null) nb.invalidating = 'try_to_migrate';
    host.mmuNotifier.invalidateRangeStart(tt, range);
    if (nb !== null) nb.invalidating = 'other';
    const e = h.mm.pt.entries[h.entryIdx];
    young = (e & PTE_ACCESSED) !== 0;
    dirty = (e & PTE_DIRTY) !== 0;
    h.mm.pt.entries[h.entryIdx] = 0;
    tt.advance(host.engine.profile.tlbFlushBaseNs);
    host.mmuNotifier.invalidateRangeEnd(tt, range);
  });
  folioCopy(t, host, src, dst);
  // folio_migrate_mapping and folio_migrate_flags.
  const f = mem.flags[src];
  mem.setMapping(dst, mem.mappingOf(src));
  mem.index[dst] = mem.index[src];
  mem.setMemcg(dst, mem.memcgOf(src));
  mem.flags[dst] |= (f & MIGRATED_FLAGS) | (dirty ? PG_DIRTY : 0) | (f & PG_ACTIVE);
  mem.flags[src] &= ~PG_ACTIVE;
  host.lruGen?.folioMigrateRefs(src, dst);
  if (src < mem.data.length) mem.data[dst] = mem.data[src];
  nb?.folioMoved(src, dst);
  if (mapped) {
    // remove_migration_pte
    const e = PTE_PRESENT | (young ? PTE_ACCESSED : 0) | (dirty ? PTE_DIRTY : 0);
    hit.mm.pt.entries[hit.entryIdx] = mkPte(dst, e);
  }
  if (host.lruGen !== null) mem.flags[dst] |= PG_ACTIVE;
  host.lru.add(t, dst);
  // The model's per-CPU free lists are not per zone, so the old page goes straight back to its
  // node's free list rather than onto this CPU's list, where the next allocation for this node
  // would find a page of the other one.
  mem.freePages(src, 0);
  return dst;
}

/** folio_copy of one page: the stores at clear_page's cost, the loads from the source node. */
function folioCopy(t: SimThread, host: Host, src: number, dst: number): void {
  const mem = host.mem;
  const p = host.engine.profile;
  const copyNs = t.cpuNs(t.jittered(p.pageZeroNsPer4K));
  const read = mem.nodes[mem.pfnToNid(src)].bandwidth.transfer(t.now, PAGE_SIZE, copyNs);
  const written = mem.nodes[mem.pfnToNid(dst)].bandwidth.transfer(t.now, 2 * PAGE_SIZE, copyNs);
  t.until(t.engine.categories.id('page migration', 'cpu'), t.now + copyNs);
  t.until(CAT.memBandwidth, Math.max(read, written));
}

/** folio_putback_lru after a failed migration. */
function putbackLru(t: SimThread, host: Host, pfn: number): void {
  host.lru.add(t, pfn);
}
