/**
 * Models mm/vmscan.c, MGLRU aging: try_to_inc_max_seq (tryToIncMaxSeq), walk_mm, walk_pud_range
 * (with walk_page_range), walk_pmd_range and should_skip_vma; the PTE level is in walk-pte.ts.
 */
import { EAGAIN, EBUSY } from '../../fs/errno.ts';
import type { Mm } from '../../host/mm.ts';
import { PAGE_SIZE, PMD_SIZE, PTE_PRESENT, PTE_PSE, PTRS_PER_PTE, ptePfn } from '../../host/page-table.ts';
import type { Vma } from '../../host/vma.ts';
import { CAT } from '../../sim/accounting.ts';
import { call, type SimThread } from '../../sim/thread.ts';
import type { Tracer } from '../../sim/trace.ts';
import { bloomKey, newBloom, testBloom, updateBloom } from './bloom.ts';
import { incMaxSeq } from './gen-seq.ts';
import type { LruGen } from './lru-gen.ts';
import {
  LRU_GEN_MM_WALK,
  type Lruvec,
  MAX_LRU_BATCH,
  MM_LEAF_TOTAL,
  MM_LEAF_YOUNG,
  MM_NONLEAF_ADDED,
  MM_NONLEAF_FOUND,
} from './lruvec.ts';
import { LruGenMmWalk as MmWalk } from './mm-walk.ts';
import { acceptFolio, clearYoung, walkPteRange, walkUpdateFolio } from './walk-pte.ts';

type Gen<R> = Generator<void, R, void>;

const key = new Int32Array(2);
/** x86-64 with 4-level page tables (PTRS_PER_PUD = PTRS_PER_PMD = PTRS_PER_PTE); the P4D level is folded into the PGD. */
const PUD_SIZE = PTRS_PER_PTE * PMD_SIZE;
const P4D_SIZE = PTRS_PER_PTE * PUD_SIZE;
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
    const done = !mine || incMaxSeq(lg, t, l);
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
    const vpn = Math.floor(addr / PAGE_SIZE);
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
