/**
 * Models mm/vmscan.c, MGLRU aging: try_to_inc_max_seq (tryToIncMaxSeq), walk_mm, walk_pud_range
 * (with walk_page_range), walk_pmd_range, walk_pte_range, should_skip_vma, get_pfn_folio and
 * walk_update_folio.
 */
import { EAGAIN, EBUSY } from '../../fs/errno.ts';
import type { Mm } from '../../host/mm.ts';
import { PAGE_SIZE, PTE_ACCESSED, PTE_PRESENT, PTE_PSE, ptePfn, ptePresent } from '../../host/page-table.ts';
import type { Vma } from '../../host/vma.ts';
import {
  MMU_NOTIFIER_YOUNG_BITMAP_UNRELIABLE,
  mmHasNotifiers,
  mmNotifiersAgeFast,
} from '../../mmu-notifier/mmu-notifier.ts';
import {
  ptepClearYoungNotify,
  ptepClearYoungNotifyFastOnly,
  ptepTestAndClearYoung,
} from '../../mmu-notifier/young-notify.ts';
import { CAT } from '../../sim/accounting.ts';
import { call, type SimThread } from '../../sim/thread.ts';
import type { Tracer } from '../../sim/trace.ts';
import { bloomKey, newBloom, testBloom, updateBloom } from './bloom.ts';
import { folioLruGen } from './gen-flags.ts';
import type { LruGen } from './lru-gen.ts';
import {
  LRU_GEN_MM_WALK,
  type Lruvec,
  lruGenFromSeq,
  MAX_LRU_BATCH,
  MIN_LRU_BATCH,
  MM_LEAF_TOTAL,
  MM_LEAF_YOUNG,
  MM_NONLEAF_ADDED,
  MM_NONLEAF_FOUND,
} from './lruvec.ts';
import { LruGenMmWalk as MmWalk } from './mm-walk.ts';

type Gen<R> = Generator<void, R, void>;

const key = new Int32Array(2);
/** suitable_to_scan on x86: 8 PTEs per cache line. */
const PTES_PER_LINE = 8;
/** x86-64 with 4-level page tables: 512 entries a table; the P4D level is folded into the PGD. */
const PTRS_PER_TABLE = 512;
const PMD_SIZE = PTRS_PER_TABLE * PAGE_SIZE;
const PUD_SIZE = PTRS_PER_TABLE * PMD_SIZE;
const P4D_SIZE = PTRS_PER_TABLE * PUD_SIZE;
/** FIRST_USER_ADDRESS of x86-64. */
const FIRST_USER_ADDRESS = 0;

/**
 * try_to_inc_max_seq: walk every mm of the memcg (the mm list) unless this iteration is already
 * done, then start a new generation. Returns false if `seq` was already reached.
 */
export function* tryToIncMaxSeq(
  t: SimThread,
  lg: LruGen,
  l: Lruvec,
  seq: number,
  swappiness: number,
  forceScan: boolean,
): Gen<boolean> {
  const st = l.mmState;
  if (seq <= st.seq) return false;
  // iterate_mm_list: a walker joining an iteration in progress gets the mms not yet handed out;
  // with one mm per memcg there are none, and only the walker that finishes the list may start the
  // new generation.
  if (st.walkingSeq === seq) return false;
  const prevCtx = t.enter(CAT.mglruAging);
  const tr = lg.host.engine.trace;
  if (tr !== null) tr.emit(t, 'try_to_inc_max_seq_begin', { memcg: l.memcg.path, nid: l.nid, seq });
  if (lg.caps & LRU_GEN_MM_WALK) {
    st.walkingSeq = seq;
    const walk = new MmWalk(l, seq, swappiness, forceScan);
    // iterate_mm_list: the first mm of an iteration resets the next filter; one walker here.
    st.filters[(seq + 1) % 2] = newBloom();
    for (const mm of lg.host.mms) {
      if (mm.memcg !== l.memcg) continue;
      if (tr === null) yield* walkMm(t, lg, walk, mm);
      else yield* tracedWalkMm(t, lg, walk, mm, tr);
    }
    for (let i = 0; i < 4; i++) st.stats[i] += walk.mmStats[i];
    st.walkingSeq = -1;
  }
  st.seq++;
  // inc_max_seq under lru_lock; inc_min_seq gives the lock up every MAX_LRU_BATCH folios it moves
  // (cond_resched, then restart), so faulting vCPUs draining their LRU batches get in between.
  const lock = lg.lruLock(l);
  for (let first = true; ; first = false) {
    if (t.mustSync()) yield;
    lock.lock(t);
    if (first) t.advance(lg.host.engine.profile.incMaxSeqNs);
    const mine = seq === l.maxSeq;
    const done = !mine || lg.incMaxSeq(t, l);
    lock.unlock(t);
    if (done) {
      if (tr !== null)
        tr.emit(t, 'try_to_inc_max_seq_end', { memcg: l.memcg.path, nid: l.nid, seq, incremented: mine });
      t.leave(prevCtx);
      return true;
    }
    yield;
  }
}

/** `walkMm` between walk_mm_begin and walk_mm_end trace events, with what the walk did. */
function* tracedWalkMm(t: SimThread, lg: LruGen, walk: MmWalk, mm: Mm, tr: Tracer): Gen<void> {
  const l = walk.lruvec;
  const at = { memcg: l.memcg.path, nid: l.nid, seq: walk.seq };
  tr.emit(t, 'walk_mm_begin', at);
  const ptes = walk.mmStats[MM_LEAF_TOTAL];
  const young = walk.mmStats[MM_LEAF_YOUNG];
  const calls = walk.clearYoungCalls;
  const walked = yield* walkMm(t, lg, walk, mm);
  tr.emit(t, 'walk_mm_end', {
    ...at,
    walked,
    ptes: walk.mmStats[MM_LEAF_TOTAL] - ptes,
    young: walk.mmStats[MM_LEAF_YOUNG] - young,
    clearYoung: walk.clearYoungCalls - calls,
  });
}

/** should_skip_vma for the VMAs the model has. */
function shouldSkipVma(vma: Vma, swappiness: number): boolean {
  if (vma.kind === 'anonymous_hugetlb') return true;
  // Anon and shmem with swappiness 0; file-backed with swappiness > 200 (none here).
  return swappiness === 0;
}

/**
 * walk_mm: rounds of walk_page_range from `walk.nextAddr`, each under mmap_read_trylock (on the
 * mmap_lock the vCPUs' faults take), clearing accessed bits through ptep_clear_young_notify and
 * promoting young folios. After each round the generation sizes batched in it are applied under
 * lru_lock (reset_batch_size), then cond_resched. A round ends early after a PUD when the
 * scheduler wants the CPU or MAX_LRU_BATCH folios are batched (`walkPageRange`); the walk stops
 * when max_seq moved on or mmap_lock is held for write. Returns whether any round walked.
 */
function* walkMm(t: SimThread, lg: LruGen, walk: MmWalk, mm: Mm): Gen<boolean> {
  const lock = lg.lruLock(walk.lruvec);
  walk.nextAddr = FIRST_USER_ADDRESS;
  let walked = false;
  let err: number;
  do {
    err = -EBUSY;
    // Another thread might have called inc_max_seq.
    if (walk.seq !== walk.lruvec.maxSeq) break;
    if (t.mustSync()) yield;
    if (mm.mmapLock.tryReadLock(t)) {
      err = yield* walkPageRange(t, lg, walk, mm);
      mm.mmapLock.readUnlock(t);
      walked = true;
    }
    if (walk.batched > 0) {
      if (t.mustSync()) yield;
      lock.lock(t);
      walk.resetBatchSize(t);
      lock.unlock(t);
    }
    // cond_resched: the engine preempts the walker here if need_resched.
    yield;
  } while (err === -EAGAIN);
  return walked;
}

/**
 * walk_page_range(mm, walk->next_addr, ULONG_MAX) with should_skip_vma as test_walk and
 * walk_pud_range as p4d_entry: from the first VMA to walk at or after `walk.nextAddr`, the VMAs
 * of its P4D, PUD by PUD (walk_pud_range goes on to later VMAs of the P4D with get_next_vma, and
 * walk_pmd_range to later VMAs of the PUD). After each PUD, if need_resched or MAX_LRU_BATCH
 * folios are batched, the round ends (-EAGAIN) and the next resumes at the next PUD; a VMA in a
 * later P4D also ends the round, to resume there. Returns 1 when no VMA to walk is left after
 * the P4D, 0 when there was none from `walk.nextAddr` on, else -EAGAIN.
 */
function* walkPageRange(t: SimThread, lg: LruGen, walk: MmWalk, mm: Mm): Gen<number> {
  const vmas = mm.vmas;
  const skip = (i: number) => shouldSkipVma(vmas[i], walk.swappiness);
  let i = 0;
  while (i < vmas.length && (vmas[i].end <= walk.nextAddr || skip(i))) i++;
  if (i === vmas.length) return 0;
  let addr = Math.max(walk.nextAddr, vmas[i].start);
  const p4dEnd = (Math.floor(addr / P4D_SIZE) + 1) * P4D_SIZE;
  for (;;) {
    const pudEnd = (Math.floor(addr / PUD_SIZE) + 1) * PUD_SIZE;
    // walk_pmd_range over the PUD: every part of a VMA to walk in [addr, pudEnd).
    for (; i < vmas.length && vmas[i].start < pudEnd; i++) {
      if (skip(i)) continue;
      const vma = vmas[i];
      yield* walkPmdRange(t, lg, walk, mm, vma, Math.max(addr, vma.start), Math.min(vma.end, pudEnd));
      if (vma.end > pudEnd) break;
    }
    if (t.mustSync()) yield;
    if (t.needResched() || walk.batched >= MAX_LRU_BATCH) {
      walk.nextAddr = pudEnd;
      return -EAGAIN;
    }
    while (i < vmas.length && skip(i)) i++;
    if (i === vmas.length) return 1;
    addr = Math.max(pudEnd, vmas[i].start);
    if (addr >= p4dEnd) {
      walk.nextAddr = addr;
      return -EAGAIN;
    }
  }
}

/** walk_pmd_range over [start, end) of `vma`, within one PUD. */
function* walkPmdRange(
  t: SimThread,
  lg: LruGen,
  walk: MmWalk,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
): Gen<void> {
  const p = lg.host.engine.profile;
  const st = walk.lruvec.mmState;
  const E = mm.pt.entries;
  const hpage = PMD_SIZE;
  for (let addr = start; addr < end; addr = (Math.floor(addr / hpage) + 1) * hpage) {
    if (t.mustSync()) yield;
    t.advance(p.walkPmdNs);
    const vpn = Math.floor(addr / 4096);
    const pmdIdx = mm.pt.walk(mm.pgd, vpn, 2, false);
    if (pmdIdx < 0 || !(E[pmdIdx] & PTE_PRESENT)) {
      walk.mmStats[MM_LEAF_TOTAL]++;
      continue;
    }
    if (E[pmdIdx] & PTE_PSE) {
      // A transparent huge PMD: pmdp_clear_young_notify over PMD_SIZE.
      walk.mmStats[MM_LEAF_TOTAL]++;
      const head = ptePfn(E[pmdIdx]);
      if (!acceptFolio(lg, walk, head)) continue;
      walk.clearYoungCalls++;
      if (clearYoung(t, lg, mm, Math.floor(addr / hpage) * hpage, pmdIdx, hpage)) {
        walkUpdateFolio(t, lg, walk, head);
        walk.mmStats[MM_LEAF_YOUNG]++;
      }
      continue;
    }
    bloomKey(pmdIdx, key);
    if (!walk.forceScan && !testBloom(st.filters[walk.seq % 2], key)) continue;
    walk.mmStats[MM_NONLEAF_FOUND]++;
    if (yield* call(walkPteRange(t, lg, walk, mm, vma, addr, ptePfn(E[pmdIdx])))) {
      walk.mmStats[MM_NONLEAF_ADDED]++;
      updateBloom(st.filters[(walk.seq + 1) % 2]!, key);
    }
  }
}

/**
 * walk_pte_range over one PTE table, holding the table's lock (spin_trylock(ptl); a busy table is
 * skipped and counts as suitable, as since 6.14); returns suitable_to_scan(total, young).
 *
 * The walk gives way per PTE only when a notifier it calls can block on a lock the vCPUs take
 * (KVM's write-locked aging). Otherwise nothing it touches is shared with other threads except
 * through the table lock, which stalls their faults into this table until the recorded release,
 * so the whole table is scanned in one step.
 */
function* walkPteRange(
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
  const start = Math.max(vma.start, Math.floor(addr / (512 * 4096)) * 512 * 4096);
  const end = Math.min(vma.end, (Math.floor(addr / (512 * 4096)) + 1) * 512 * 4096);
  let total = 0;
  let young = 0;
  if (t.mustSync()) yield;
  if (!mm.ptl.tryLock(t, table)) return true;
  const syncPerPte = notifiers && !lg.fastOnly && !mmNotifiersAgeFast(mm);
  // Reading the table streams its PTEs from memory: a stall if the node's bandwidth is taken.
  const ptes = (end - start) / 4096;
  const readNs = t.cpuNs(ptes * p.walkPteNs);
  const node =
    lg.host.mem.nodes[Math.min(lg.host.engine.topology.nodeOf(t.cpu), lg.host.mem.nodes.length - 1)];
  t.until(CAT.memBandwidth, node.bandwidth.transfer(t.now, ptes * 8, readNs) - readNs);
  // The v2-bitmap series asks the secondary MMUs about up to 64 PTEs per call, test then clear.
  const useBitmap = lg.bitmapYoung && notifiers;
  const notifier = lg.host.mmuNotifier;
  for (let chunk = start; chunk < end; chunk += MIN_LRU_BATCH * 4096) {
    const chunkEnd = Math.min(end, chunk + MIN_LRU_BATCH * 4096);
    const last = Math.floor((chunkEnd - 4096) / 4096);
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
    for (let a = chunk; a < chunkEnd; a += 4096) {
      const idx = table * 512 + (Math.floor(a / 4096) & 511);
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
        const bit = last - Math.floor(a / 4096);
        const secondary = ((tested[bit >>> 5] >>> (bit & 31)) & 1) === 1;
        if (secondary) toClear[bit >>> 5] |= 1 << (bit & 31);
        isYoung = ptepTestAndClearYoung(t, mm, idx) || secondary;
      } else {
        walk.clearYoungCalls++;
        isYoung = clearYoung(t, lg, mm, a, idx, 4096);
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
function clearYoung(t: SimThread, lg: LruGen, mm: Mm, addr: number, idx: number, size: number): boolean {
  if (!lg.walkSecondaryMmu) return ptepTestAndClearYoung(t, mm, idx);
  return lg.fastOnly
    ? ptepClearYoungNotifyFastOnly(t, mm, addr, idx, size)
    : ptepClearYoungNotify(t, mm, addr, idx, size);
}

/** get_pfn_folio: on an MGLRU list, in this lruvec's memcg and node. */
function acceptFolio(lg: LruGen, walk: MmWalk, pfn: number): boolean {
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
function walkUpdateFolio(t: SimThread, lg: LruGen, walk: MmWalk, pfn: number): void {
  t.advance(lg.host.engine.profile.folioUpdateGenNs);
  const gen = lruGenFromSeq(walk.lruvec.maxSeq);
  const old = lg.folioUpdateGen(pfn, gen);
  if (old >= 0 && old !== gen)
    walk.updateBatchSize(lg.folioType(lg.host.mem.flags[pfn]), lg.folioPages(pfn), old, gen);
}
