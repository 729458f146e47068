/**
 * Models the shadow MMU's fault path in arch/x86/kvm/mmu/mmu.c: direct_map, kvm_mmu_get_child_sp,
 * link_shadow_page (__link_shadow_page with drop_large_spte), mmu_set_spte (with mmu_spte_update),
 * direct_pte_prefetch (__direct_pte_prefetch, direct_pte_prefetch_many) and fast_page_fault over
 * fast_pf_get_last_sptep.
 */
import { followPteLockless, ptesSpecial } from '../../../host/gup.ts';
import type { SimThread } from '../../../sim/thread.ts';
import {
  gfnToHvaMemslot,
  KVM_MEM_READONLY,
  KVM_MEMSLOT_INVALID,
  type KvmMemorySlot,
} from '../../memslots.ts';
import { fastPageFaultFix } from '../fast-page-fault.ts';
import { type MmuFault, RET_PF_FIXED, RET_PF_SPURIOUS } from '../kvm-mmu.ts';
import { isShadowPresentPte } from '../mmio-spte.ts';
import {
  EPT_D,
  EPT_W,
  HI_MMU_WRITABLE,
  HI_PAGE_REFCOUNTED,
  isAccessedSpte,
  isShadowPresent,
  makeNonleafSpte,
  makeSpte,
  markSpteForAccessTrack,
  PT_PAGE_SIZE,
  spteAdEnabled,
  sptePfn,
} from '../spte.ts';
import { pagesPerLevel, spteIndex } from '../tdp-mmu/spte-pool.ts';
import { markMmioSpte } from './mmio-sptes.ts';
import { ACC_ALL, type KvmMmuPage, kvmMmuChildRole, kvmMmuPageGetGfn } from './mmu-page.ts';
import { rmapAdd } from './rmap.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** PTE_PREFETCH_NUM: direct_pte_prefetch looks at the aligned group of 8 SPTEs around the fault. */
export const PTE_PREFETCH_NUM = 8;

/**
 * direct_map (the caller holds mmu_lock for write): walks from the root to the goal level,
 * finding or creating each missing child page (kvm_mmu_get_child_sp) and linking it, installs the
 * leaf with mmu_set_spte (an MMIO SPTE for a no-slot fault) and prefetches its neighbours. Returns the RET_PF_*.
 */
export function directMap(mmu: ShadowMmu, t: SimThread, root: KvmMmuPage, f: MmuFault): number {
  const kvm = mmu.kvm;
  if (kvm.mmuLock.writer !== t) throw new Error('direct_map: mmu_lock not held for write');
  const p = kvm.engine.profile;
  const pool = mmu.pool;
  let table = root.spt;
  let level = root.level;
  let sptep: number;
  let baseGfn: number;
  for (;;) {
    sptep = table * 512 + spteIndex(f.gfn, level);
    t.advance(p.tdpWalkLevelNs);
    const span = pagesPerLevel(level);
    baseGfn = Math.floor(f.gfn / span) * span;
    if (level === f.goalLevel) break;
    const sp = kvmMmuGetChildSp(mmu, t, sptep, baseGfn, ACC_ALL);
    if (sp !== null) linkShadowPage(mmu, t, sptep, sp);
    table = pool.child(sptep);
    level--;
  }
  if (f.slot === null) {
    // mmu_set_spte of KVM_PFN_NOSLOT: mark_mmio_spte; the prefetch then finds no slot.
    const r = markMmioSpte(mmu, t, sptep, f.gfn);
    directPtePrefetch(mmu, t, sptep);
    return r;
  }
  const slot = kvm.memslots(root.asId).gfnToMemslot(f.gfn);
  if (slot === null) throw new Error(`direct_map: gfn 0x${f.gfn.toString(16)} has no memslot`);
  const ret = mmuSetSpte(mmu, t, slot, sptep, baseGfn, f.pfn, f);
  if (ret === RET_PF_SPURIOUS) return ret;
  directPtePrefetch(mmu, t, sptep);
  return ret;
}

/**
 * kvm_mmu_get_child_sp: null (ERR_PTR(-EEXIST)) when `sptep` already points to a page table,
 * else the direct child page of `gfn` one level down, found in the hash or made.
 */
export function kvmMmuGetChildSp(
  mmu: ShadowMmu,
  t: SimThread,
  sptep: number,
  gfn: number,
  access: number,
): KvmMmuPage | null {
  const lo = mmu.pool.lo[sptep];
  if (isShadowPresentPte(mmu.kvm.mmioGen.layout, mmu.pool, sptep) && !(lo & PT_PAGE_SIZE)) return null;
  return mmu.kvmMmuGetShadowPage(t, gfn, kvmMmuChildRole(mmu.sptepToSp(sptep).role, access));
}

/**
 * __link_shadow_page with flush: a present SPTE here is a huge leaf, dropped first with a TLB flush
 * (drop_large_spte); then the non-leaf SPTE (make_nonleaf_spte) and the parent_ptes entry.
 */
export function linkShadowPage(mmu: ShadowMmu, t: SimThread, sptep: number, sp: KvmMmuPage): void {
  const pool = mmu.pool;
  if (isShadowPresentPte(mmu.kvm.mmioGen.layout, pool, sptep)) {
    mmu.dropSpte(t, sptep);
    mmu.kvm.flushRemoteTlbs(t);
  }
  makeNonleafSpte(mmu.tmp, sp.spt, !sp.adDisabled);
  pool.lo[sptep] = mmu.tmp.lo;
  pool.hi.set(sptep, mmu.tmp.hi);
  mmu.mmuPageAddParentPte(t, sp, sptep);
}

/**
 * mmu_set_spte for a direct page (ACC_ALL; no unsync, so never write-protected): replaces a table
 * pointer or a leaf of another pfn (with a flush), builds the SPTE (make_spte; a prefetch, `f`
 * null, starts with A clear), updates it (mmu_spte_update flushes when it loses W, A or D) and adds
 * the rmap entry of a new leaf. Returns RET_PF_FIXED or RET_PF_SPURIOUS.
 */
export function mmuSetSpte(
  mmu: ShadowMmu,
  t: SimThread,
  slot: KvmMemorySlot,
  sptep: number,
  gfn: number,
  pfn: number,
  f: MmuFault | null,
): number {
  const pool = mmu.pool;
  const level = mmu.sptepToSp(sptep).level;
  const hostWritable = f === null || f.mapWritable;
  const oldLo = pool.lo[sptep];
  const oldHi = pool.hi.get(sptep);
  let wasRmapped = false;
  let flush = false;
  if (isShadowPresentPte(mmu.kvm.mmioGen.layout, pool, sptep)) {
    if (level > 1 && !(oldLo & PT_PAGE_SIZE)) {
      // A huge leaf replaces a page table: unlink the now unreachable child.
      mmu.dropParentPte(t, mmu.sps[pool.child(sptep)]!, sptep);
      flush = true;
    } else if (pfn !== sptePfn(oldLo, oldHi)) {
      mmu.dropSpte(t, sptep);
      flush = true;
    } else wasRmapped = true;
  }
  const s = mmu.tmp;
  makeSpte(s, pfn, level, hostWritable, hostWritable, mmu.adEnabled);
  // stevens-v11's make_spte: the refcounted bit (a prefetched page came from GUP-fast, referenced).
  if (mmu.kvm.adPolicy.spteRefcountedBit && (f === null || f.refcounted))
    s.hi = (s.hi | HI_PAGE_REFCOUNTED) >>> 0;
  if (f === null) markSpteForAccessTrack(s, s.lo, s.hi);
  let ret = RET_PF_FIXED;
  if (wasRmapped && oldLo === s.lo && oldHi === s.hi) ret = RET_PF_SPURIOUS;
  else {
    if (wasRmapped) flush ||= mmuSpteUpdateFlush(oldLo, oldHi, s.lo);
    t.advance(mmu.kvm.engine.profile.spteInstallNs);
    pool.lo[sptep] = s.lo;
    pool.hi.set(sptep, s.hi);
  }
  if (flush) mmu.kvm.flushRemoteTlbs(t);
  if (!wasRmapped) rmapAdd(mmu, t, slot, sptep, gfn);
  return ret;
}

/** mmu_spte_update's flush rule: MMU-writable losing W, or Accessed or Dirty cleared. */
function mmuSpteUpdateFlush(oldLo: number, oldHi: number, newLo: number): boolean {
  if (oldHi & HI_MMU_WRITABLE && !(newLo & EPT_W)) return true;
  if (isAccessedSpte(oldLo, oldHi) && !isAccessedSpte(newLo, oldHi)) return true;
  const dirty = spteAdEnabled(oldHi) ? EPT_D : EPT_W;
  return (oldLo & dirty) !== 0 && !(newLo & dirty);
}

/**
 * direct_pte_prefetch: for a 4K leaf of a page with A/D bits and no invalidation in progress, map
 * the non-present SPTEs of its aligned group of PTE_PREFETCH_NUM whose host pages are present and
 * writable (gfn_to_page_many_atomic: get_user_pages_fast_only, up to the first miss).
 */
export function directPtePrefetch(mmu: ShadowMmu, t: SimThread, sptep: number): void {
  const sp = mmu.sptepToSp(sptep);
  if (sp.adDisabled || sp.level > 1 || mmu.kvm.mmuInvalidateInProgress > 0) return;
  const lo = mmu.pool.lo;
  const first = sptep - ((sptep & 511) % PTE_PREFETCH_NUM);
  let start = -1;
  for (let s = first; s < first + PTE_PREFETCH_NUM; s++) {
    if (isShadowPresent(lo[s]) || s === sptep) {
      if (start < 0) continue;
      if (directPtePrefetchMany(mmu, t, sp, start, s) < 0) return;
      start = -1;
    } else if (start < 0) start = s;
  }
  if (start >= 0) directPtePrefetchMany(mmu, t, sp, start, first + PTE_PREFETCH_NUM);
}

/** direct_pte_prefetch_many: SPTEs [start, end) of `sp`; -1 when nothing could be prefetched. */
function directPtePrefetchMany(
  mmu: ShadowMmu,
  t: SimThread,
  sp: KvmMmuPage,
  start: number,
  end: number,
): number {
  const kvm = mmu.kvm;
  const gfn = kvmMmuPageGetGfn(sp, start & 511);
  const slot = kvm.memslots(sp.asId).gfnToMemslot(gfn);
  if (slot === null || slot.flags & (KVM_MEMSLOT_INVALID | KVM_MEM_READONLY)) return -1;
  const n = end - start;
  if (gfn + n > slot.baseGfn + slot.npages) return -1;
  t.advance(kvm.engine.profile.gupFastNs);
  let got = 0;
  const pfns: number[] = [];
  for (; got < n; got++) {
    const hva = gfnToHvaMemslot(slot, gfn + got);
    // get_user_pages_fast_only stops at a special PTE (a VM_PFNMAP mapping).
    const pfn = followPteLockless(kvm.mm, hva, true);
    if (pfn < 0 || ptesSpecial(kvm.mm, hva)) break;
    pfns.push(pfn);
  }
  if (got === 0) return -1;
  for (let i = 0; i < got; i++) mmuSetSpte(mmu, t, slot, start + i, gfn + i, pfns[i], null);
  mmu.stats.sptesPrefetched += got;
  return 0;
}

/**
 * fast_page_fault on the shadow MMU: a lockless walk (walk_shadow_page_lockless_begin) to the last
 * SPTE, then, as for the TDP MMU, restore an access-tracked SPTE or make an MMU-writable one
 * writable with one cmpxchg; up to 4 tries. RET_PF_INVALID sends the fault down the slow path.
 */
export function fastPageFault(
  mmu: ShadowMmu,
  t: SimThread,
  root: KvmMmuPage,
  gfn: number,
  write: boolean,
): number {
  return fastPageFaultFix(t, mmu.pool, root.spt, gfn, write, mmu.tmp);
}
