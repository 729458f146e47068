/**
 * Models mm/vmscan.c, the leaves of the MGLRU aging walk: walk_pte_range, get_pfn_folio and
 * walk_update_folio (with update_batch_size), and which clear-young call the walk makes.
 */
import type { Mm } from '../../host/mm.ts';
import {
  MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE,
  mmHasNotifiers,
  mmNotifiersAgeFast,
} from '../../host/mmu-notifier.ts';
import {
  PAGE_SIZE,
  PMD_SIZE,
  PTE_ACCESSED,
  PTRS_PER_PTE,
  ptePfn,
  ptePresent,
} from '../../host/page-table.ts';
import type { Vma } from '../../host/vma.ts';
import {
  ptepClearYoungNotify,
  ptepClearYoungNotifyFastOnly,
  ptepTestAndClearYoung,
} from '../../host/young-notify.ts';
import { CAT } from '../../sim/accounting.ts';
import type { SimThread } from '../../sim/thread.ts';
import { folioLruGen } from './gen-flags.ts';
import type { LruGen } from './lru-gen.ts';
import { lruGenFromSeq, MIN_LRU_BATCH, MM_LEAF_TOTAL, MM_LEAF_YOUNG } from './lruvec.ts';
import type { LruGenMmWalk as MmWalk } from './mm-walk.ts';

type Gen<R> = Generator<void, R, void>;

/** suitable_to_scan on x86: 8 PTEs per cache line. */
const PTES_PER_LINE = 8;

/**
 * walk_pte_range over one PTE table, holding the table's lock (spin_trylock(ptl); a busy table is
 * skipped and counts as suitable, as since 6.14); returns suitable_to_scan(total, young).
 *
 * The walk gives way per PTE only when a notifier it calls can block on a lock the vCPUs take
 * (KVM's write-locked aging). Otherwise nothing it touches is shared with other threads except
 * through the table lock, which stalls their faults into this table until the recorded release,
 * so the whole table is scanned in one step.
 */
export function* walkPteRange(
  t: SimThread,
  lg: LruGen,
  walk: MmWalk,
  mm: Mm,
  vma: Vma,
  addr: number,
  table: number,
): Gen<boolean> {
  const p = lg.host.engine.profile;
  const E = mm.pt.entries;
  const notifiers = lg.walkSecondaryMmu && mmHasNotifiers(mm);
  const zero = lg.host.mem.zeroPfn;
  const start = Math.max(vma.start, Math.floor(addr / PMD_SIZE) * PMD_SIZE);
  const end = Math.min(vma.end, (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE);
  let total = 0;
  let young = 0;
  if (t.mustSync()) yield;
  if (!mm.ptl.tryLock(t, table)) return true;
  const syncPerPte = notifiers && !lg.fastOnly && !mmNotifiersAgeFast(mm);
  // Reading the table streams its PTEs from memory: a stall if the node's bandwidth is taken.
  const ptes = (end - start) / PAGE_SIZE;
  const readNs = t.cpuNs(ptes * p.walkPteNs);
  const node =
    lg.host.mem.nodes[Math.min(lg.host.engine.topology.nodeOf(t.cpu), lg.host.mem.nodes.length - 1)];
  t.until(CAT.memBandwidth, node.bandwidth.transfer(t.now, ptes * 8, readNs) - readNs);
  // The v2-bitmap series asks the secondary MMUs about up to 64 PTEs per call, test then clear.
  const useBitmap = lg.bitmapYoung && notifiers;
  const notifier = lg.host.mmuNotifier;
  for (let chunk = start; chunk < end; chunk += MIN_LRU_BATCH * PAGE_SIZE) {
    const chunkEnd = Math.min(end, chunk + MIN_LRU_BATCH * PAGE_SIZE);
    const last = Math.floor((chunkEnd - PAGE_SIZE) / PAGE_SIZE);
    let tested: Uint32Array | null = null;
    let toClear: Uint32Array | null = null;
    if (useBitmap) {
      if (t.mustSync()) yield;
      tested = new Uint32Array(2);
      if (
        notifier.testClearYoungBitmap(t, mm, chunk, chunkEnd, tested, false) &
        MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE
      )
        tested = null;
      else toClear = new Uint32Array(2);
    }
    for (let a = chunk; a < chunkEnd; a += PAGE_SIZE) {
      const idx = table * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) & (PTRS_PER_PTE - 1));
      total++;
      t.advance(p.walkPteNs);
      const e = E[idx];
      // get_pte_pfn: present, not the zero page, and young unless the mm has notifiers.
      if (!ptePresent(e) || ptePfn(e) === zero || (!(e & PTE_ACCESSED) && !notifiers)) continue;
      const pfn = ptePfn(e);
      if (!acceptFolio(lg, walk, pfn)) continue;
      if (syncPerPte && tested === null && t.mustSync()) yield;
      let isYoung: boolean;
      if (tested !== null && toClear !== null) {
        const bit = last - Math.floor(a / PAGE_SIZE);
        const secondary = ((tested[bit >>> 5] >>> (bit & 31)) & 1) === 1;
        if (secondary) toClear[bit >>> 5] |= 1 << (bit & 31);
        isYoung = ptepTestAndClearYoung(t, mm, idx) || secondary;
      } else {
        walk.clearYoungCalls++;
        isYoung = clearYoung(t, lg, mm, a, idx, PAGE_SIZE);
      }
      if (!isYoung) continue;
      walkUpdateFolio(t, lg, walk, pfn);
      walk.mmStats[MM_LEAF_YOUNG]++;
      young++;
    }
    if (toClear !== null && (toClear[0] | toClear[1]) !== 0) {
      walk.clearYoungCalls++;
      notifier.testClearYoungBitmap(t, mm, chunk, chunkEnd, toClear, true);
    }
  }
  mm.ptl.unlock(t, table);
  walk.mmStats[MM_LEAF_TOTAL] += total;
  return young * PTES_PER_LINE >= total;
}

/** {ptep,pmdp}_clear_young_notify (6.12+), or only the primary MMU's bit before. */
export function clearYoung(
  t: SimThread,
  lg: LruGen,
  mm: Mm,
  addr: number,
  idx: number,
  size: number,
): boolean {
  if (!lg.walkSecondaryMmu) return ptepTestAndClearYoung(t, mm, idx);
  return lg.fastOnly
    ? ptepClearYoungNotifyFastOnly(t, mm, addr, idx, size)
    : ptepClearYoungNotify(t, mm, addr, idx, size);
}

/** get_pfn_folio: on an MGLRU list, in this lruvec's memcg and node. */
export function acceptFolio(lg: LruGen, walk: MmWalk, pfn: number): boolean {
  const mem = lg.host.mem;
  if (folioLruGen(mem.flags[pfn]) < 0) return false;
  const l = walk.lruvec;
  const node = mem.nodes[l.nid];
  return mem.memcgOf(pfn) === l.memcg.id && pfn >= node.startPfn && pfn < node.endPfn;
}

/**
 * walk_update_folio with a walker: folio_update_gen to the generation of max_seq; a folio that
 * moved goes into the walk's batch (update_batch_size), not yet into the lruvec's sizes.
 */
export function walkUpdateFolio(t: SimThread, lg: LruGen, walk: MmWalk, pfn: number): void {
  t.advance(lg.host.engine.profile.folioUpdateGenNs);
  const gen = lruGenFromSeq(walk.lruvec.maxSeq);
  const old = lg.folioUpdateGen(pfn, gen);
  if (old >= 0 && old !== gen)
    walk.updateBatchSize(lg.folioType(lg.host.mem.flags[pfn]), lg.folioPages(pfn), old, gen);
}
