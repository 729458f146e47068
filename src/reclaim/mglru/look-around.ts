import { mmHasNotifiers } from '../../host/mmu-notifier.ts';
import { PTE_ACCESSED, ptePfn, ptePresent } from '../../host/page-table.ts';
import type { RmapHit } from '../../host/rmap.ts';
import {
  ptepClearFlushYoungNotify,
  ptepClearYoungNotify,
  ptepTestAndClearYoung,
} from '../../host/young-notify.ts';
import type { SimThread } from '../../sim/thread.ts';
import { bloomKey, newBloom, updateBloom } from './bloom.ts';
import { folioLruGen } from './gen-flags.ts';
import type { LruGen } from './lru-gen.ts';
import { type Lruvec, lruGenFromSeq, MIN_LRU_BATCH } from './lruvec.ts';

const HPAGE = 512 * 4096;
const key = new Int32Array(2);

/**
 * folio_referenced_one for a PTE-mapped folio under MGLRU (mm/rmap.c + lru_gen_look_around):
 * - 6.12 and later: look-around starts with ptep_clear_young_notify on the folio's own PTE (asking
 *   KVM); if young, it scans up to 64 neighbouring PTEs of the same page table, clearing their young
 *   state the same way and activating young folios, and feeds the Bloom filter.
 * - before 6.12: the look-around uses only the CPU Accessed bits; then
 *   ptep_clear_flush_young_notify asks the secondary MMUs about the folio itself.
 * - seed 003 v4: no scan of neighbours when the mm has MMU notifiers.
 * Returns whether the folio counts as referenced.
 */
export function folioReferencedOne(t: SimThread, lg: LruGen, l: Lruvec, hit: RmapHit): boolean {
  const mm = hit.mm;
  if (!lg.secondaryMmuWalkSupported) {
    let referenced = false;
    if (mm.pt.entries[hit.entryIdx] & PTE_ACCESSED) {
      lookAround(t, lg, l, hit, false);
      referenced = true;
    }
    if (ptepClearFlushYoungNotify(t, mm, hit.addr, hit.entryIdx, hit.size)) referenced = true;
    return referenced;
  }
  if (!ptepClearYoungNotify(t, mm, hit.addr, hit.entryIdx, hit.size)) return false;
  if (!(lg.secondaryMmuCap && mmHasNotifiers(mm))) lookAround(t, lg, l, hit, true);
  return true;
}

/**
 * The scan of lru_gen_look_around: the window is the folio's page table clipped to the VMA, at most
 * MIN_LRU_BATCH pages around the address. Young folios of the lruvec get lru_gen_set_refs and, on a
 * second sighting, are activated into the youngest generation.
 */
function lookAround(t: SimThread, lg: LruGen, l: Lruvec, hit: RmapHit, notify: boolean): void {
  const mm = hit.mm;
  const mem = lg.host.mem;
  const p = lg.host.engine.profile;
  const vma = mm.findVma(hit.addr);
  if (vma === null || hit.size !== 4096) return;
  let start = Math.max(Math.floor(hit.addr / HPAGE) * HPAGE, vma.start);
  let end = Math.min((Math.floor(hit.addr / HPAGE) + 1) * HPAGE, vma.end);
  if (end - start === 4096) return;
  const half = (MIN_LRU_BATCH / 2) * 4096;
  if (end - start > MIN_LRU_BATCH * 4096) {
    if (hit.addr - start < half) end = start + MIN_LRU_BATCH * 4096;
    else if (end - hit.addr <= half) start = end - MIN_LRU_BATCH * 4096;
    else {
      start = hit.addr - half;
      end = hit.addr + half;
    }
  }
  const table = hit.entryIdx - (Math.floor(hit.addr / 4096) & 511);
  const gen = lruGenFromSeq(l.maxSeq);
  const notifiers = notify && mmHasNotifiers(mm);
  let total = 0;
  let young = 1;
  for (let a = start; a < end; a += 4096) {
    const idx = table + (Math.floor(a / 4096) & 511);
    total++;
    t.advance(p.walkPteNs);
    const e = mm.pt.entries[idx];
    if (!ptePresent(e) || ptePfn(e) === mem.zeroPfn || (!(e & PTE_ACCESSED) && !notifiers)) continue;
    const pfn = ptePfn(e);
    if (folioLruGen(mem.flags[pfn]) < 0 || mem.memcgOf(pfn) !== l.memcg.id) continue;
    const isYoung = notify ? ptepClearYoungNotify(t, mm, a, idx, 4096) : ptepTestAndClearYoung(t, mm, idx);
    if (!isYoung) continue;
    young++;
    // walk_update_folio without a walker: lru_gen_set_refs, then folio_activate if it is set.
    if (lg.lruGenSetRefs(pfn) && folioLruGen(mem.flags[pfn]) !== gen) lg.folioActivate(t, l, pfn);
  }
  // Feedback from rmap walkers to page-table walkers.
  if (young * 8 >= total) {
    const st = l.mmState;
    st.filters[l.maxSeq % 2] ??= newBloom();
    bloomKey(pmdIndexOf(mm, hit.addr), key);
    updateBloom(st.filters[l.maxSeq % 2]!, key);
  }
}

/** Index of the PMD entry that maps `addr` (the Bloom filter key). */
function pmdIndexOf(mm: RmapHit['mm'], addr: number): number {
  return mm.pt.walk(mm.pgd, Math.floor(addr / 4096), 2, false);
}
