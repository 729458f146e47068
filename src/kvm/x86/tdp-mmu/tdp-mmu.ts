/**
 * Models arch/x86/kvm/mmu/tdp_mmu.c: kvm_tdp_mmu_map (map), the TDP MMU's fast_page_fault,
 * kvm_tdp_mmu_unmap_gfn_range (unmapGfnRange); aging (tdp-mmu-age.ts) and the end of a root
 * (tdp-mmu-roots.ts) are beside it.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { cmpxchg64 } from '../../../sync/atomic64.ts';
import type { Kvm } from '../../kvm.ts';
import type { KvmMemorySlot } from '../../memslots.ts';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from '../../vcpu.ts';
import { fastPageFaultFix } from '../fast-page-fault.ts';
import {
  type MmuFault,
  type MmuRoot,
  RET_PF_EMULATE,
  RET_PF_FIXED,
  RET_PF_RETRY,
  RET_PF_SPURIOUS,
  RET_PF_WRITE_PROTECTED,
  type X86Mmu,
} from '../kvm-mmu.ts';
import { isMmioSpte } from '../mmio-spte.ts';
import { tdpMmuSetMmioSpte } from '../noslot-fault.ts';
import {
  EPT_W,
  HI_PAGE_REFCOUNTED,
  isAccessTrackSpte,
  isFrozen,
  isLastSpte,
  isShadowPresent,
  makeNonleafSpte,
  makeSpte,
  NONPRESENT_HI,
  NONPRESENT_LO,
  type Spte,
} from '../spte.ts';
import { kvmTrackLeafSpteChange } from '../spte-track.ts';
import { pagesPerLevel, SptePool, spteIndex } from './spte-pool.ts';
import { kvmTdpMmuAgeGfnRange } from './tdp-mmu-age.ts';
import { kvmTdpMmuInvalidateRoots, kvmTdpMmuPutRoot, kvmTdpMmuZapInvalidatedRoots } from './tdp-mmu-roots.ts';

/** A TDP MMU root (struct kvm_mmu_page of level 4 on kvm->arch.tdp_mmu_roots). */
export interface TdpRoot extends MmuRoot {
  /** tdp_mmu_scheduled_root_to_zap: invalidated, its zap still to come. */
  scheduledToZap: boolean;
}

/**
 * The x86 TDP MMU (arch/x86/kvm/mmu/tdp_mmu.c): roots, installing SPTEs with cmpxchg under the
 * read side of mmu_lock, zapping under the write side, and aging either under the write lock
 * (before 6.15) or locklessly under RCU (6.15+).
 */
export class TdpMmu implements X86Mmu {
  readonly pool = new SptePool();
  readonly roots: TdpRoot[] = [];
  readonly adEnabled: boolean;
  /** kvm_tdp_mmu_page_fault holds mmu_lock for read. */
  readonly faultLockShared = true;
  /** Scratch output of the SPTE builders. */
  private readonly tmp: Spte = { lo: 0, hi: 0 };

  constructor(readonly kvm: Kvm) {
    this.adEnabled = kvm.opts.eptAd;
  }

  /** kvm_tdp_mmu_alloc_root: reuses a valid root of the address space or makes one (refcount 2). */
  simulatorBytes(): number {
    return 0;
  }

  allocRoot(asId: number): TdpRoot {
    const r = this.roots.find((x) => !x.invalid && x.asId === asId);
    if (r !== undefined) {
      r.refcount++;
      return r;
    }
    const root: TdpRoot = {
      table: this.pool.alloc(4, 0, -1, NONPRESENT_HI),
      asId,
      refcount: 2,
      invalid: false,
      scheduledToZap: false,
    };
    this.roots.push(root);
    return root;
  }

  /** kvm_tdp_mmu_put_root. */
  putRoot(_t: SimThread, root: MmuRoot): void {
    kvmTdpMmuPutRoot(this, root as TdpRoot);
  }

  /** is_obsolete_root for a TDP MMU root: role.invalid. */
  isObsoleteRoot(root: MmuRoot): boolean {
    return root.invalid;
  }

  /** kvm_tdp_mmu_invalidate_roots (mmu_lock held for write). */
  invalidateRoots(_t: SimThread): void {
    kvmTdpMmuInvalidateRoots(this);
  }

  /**
   * kvm_mmu_zap_all_fast with the TDP MMU: under the write lock invalidate the roots and ask every
   * vCPU to drop them; then zap them under the read lock (kvm_tdp_mmu_zap_invalidated_roots).
   * Other threads may run between the two (write_unlock is a preemption point).
   */
  *zapAllFast(t: SimThread): Generator<void, void, void> {
    const kvm = this.kvm;
    kvm.mmuLock.writeLock(t);
    kvmTdpMmuInvalidateRoots(this);
    kvm.makeAllCpusRequest(t, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
    kvm.mmuLock.writeUnlock(t);
    if (t.mustSync()) yield;
    kvm.mmuLock.readLock(t);
    kvmTdpMmuZapInvalidatedRoots(this, t);
    kvm.mmuLock.readUnlock(t);
  }

  /** get_mmio_spte through kvm_tdp_mmu_get_walk: a walk under RCU to the last SPTE for `gfn`. */
  getMmioSpte(t: SimThread, root: MmuRoot, gfn: number, out: Spte): boolean {
    const pool = this.pool;
    const rcu = this.kvm.host.rcu;
    rcu.readLock(t);
    const idx = pool.walk(root.table, gfn);
    t.advance(this.kvm.engine.profile.tdpWalkLevelNs * (5 - pool.walkLevel));
    out.lo = pool.lo[idx];
    out.hi = pool.hi.get(idx);
    rcu.readUnlock(t);
    return isMmioSpte(this.kvm.mmioGen.layout, out.lo, out.hi);
  }

  /**
   * kvm_tdp_mmu_map (caller holds mmu_lock for read): walks to the goal level, linking new
   * page-table pages with cmpxchg, then installs the leaf (tdp_mmu_map_handle_target_level).
   */
  map(t: SimThread, root: MmuRoot, f: MmuFault): number {
    const kvm = this.kvm;
    const p = kvm.engine.profile;
    const pool = this.pool;
    const rcu = kvm.host.rcu;
    const tmp = this.tmp;
    rcu.readLock(t);
    try {
      let table = root.table;
      let level = 4;
      for (;;) {
        const idx = table * 512 + spteIndex(f.gfn, level);
        const oldLo = pool.lo[idx];
        const oldHi = pool.hi.get(idx);
        t.advance(p.tdpWalkLevelNs);
        if (isFrozen(oldLo, oldHi)) return RET_PF_RETRY;
        if (level === f.goalLevel) {
          if (f.slot === null)
            return tdpMmuSetMmioSpte(t, this, idx, oldLo, oldHi, f.gfn, root.asId)
              ? RET_PF_EMULATE
              : RET_PF_RETRY;
          makeSpte(tmp, f.pfn, level, f.mapWritable, f.mapWritable, this.adEnabled);
          // stevens-v11's make_spte: spte_has_refcount_bit() && is_refcounted.
          if (f.refcounted && kvm.adPolicy.spteRefcountedBit) tmp.hi = (tmp.hi | HI_PAGE_REFCOUNTED) >>> 0;
          if (isShadowPresent(oldLo) && isLastSpte(oldLo, level)) {
            if (
              (oldLo === tmp.lo && oldHi === tmp.hi) ||
              (!isAccessTrackSpte(oldLo, oldHi) && (!f.write || oldLo & EPT_W))
            )
              return RET_PF_SPURIOUS;
          }
          const newLo = tmp.lo;
          const newHi = tmp.hi;
          t.advance(p.spteInstallNs);
          if (!cmpxchg64(pool.lo, pool.hi, idx, oldLo, oldHi, newLo, newHi)) {
            kvm.stats.mapCasFailures++;
            return RET_PF_RETRY;
          }
          // handle_changed_spte: a new leaf updates kvm->stat.pages[level] (kvm_update_page_stats).
          if (!isShadowPresent(oldLo) || !isLastSpte(oldLo, level)) kvm.statPagesLine.rmwBy(t);
          if (f.write && !(newLo & EPT_W)) return RET_PF_WRITE_PROTECTED;
          return RET_PF_FIXED;
        }
        if (isShadowPresent(oldLo)) {
          if (isLastSpte(oldLo, level)) throw new Error('splitting a huge SPTE is not modelled');
          table = pool.child(idx);
          level--;
          continue;
        }
        // Allocate a child page table and link it with tdp_mmu_link_sp (cmpxchg).
        const span = pagesPerLevel(level);
        const child = pool.alloc(level - 1, Math.floor(f.gfn / span) * span, idx, NONPRESENT_HI);
        t.advance(p.spAllocNs);
        makeNonleafSpte(tmp, child, this.adEnabled);
        const linkLo = tmp.lo;
        const linkHi = tmp.hi;
        if (!cmpxchg64(pool.lo, pool.hi, idx, oldLo, oldHi, linkLo, linkHi)) {
          pool.release(child);
          kvm.stats.mapCasFailures++;
          return RET_PF_RETRY;
        }
        table = child;
        level--;
      }
    } finally {
      rcu.readUnlock(t);
    }
  }

  /**
   * fast_page_fault for the TDP MMU: without mmu_lock, restore an access-tracked SPTE or make an
   * MMU-writable SPTE writable, with one cmpxchg; up to 4 tries. RET_PF_INVALID sends the fault down
   * the slow path.
   */
  fastPageFault(t: SimThread, root: MmuRoot, gfn: number, write: boolean): number {
    const rcu = this.kvm.host.rcu;
    rcu.readLock(t);
    try {
      return fastPageFaultFix(t, this.pool, root.table, gfn, write, this.tmp);
    } finally {
      rcu.readUnlock(t);
    }
  }

  /**
   * kvm_tdp_mmu_unmap_gfn_range → tdp_mmu_zap_leafs over valid and invalid roots of the address
   * space (caller holds mmu_lock for write). Returns whether a TLB flush is needed.
   */
  unmapGfnRange(t: SimThread, asId: number, start: number, end: number): boolean {
    let flush = false;
    for (const root of this.roots) {
      if (root.asId !== asId) continue;
      const zapped = this.zapLeafs(t, root, start, end);
      if (zapped > 0 && !root.invalid) flush = true;
    }
    return flush;
  }

  private zapLeafs(t: SimThread, root: TdpRoot, start: number, end: number): number {
    const pool = this.pool;
    const p = this.kvm.engine.profile;
    let zapped = 0;
    for (let gfn = start; gfn < end; ) {
      const idx = pool.walk(root.table, gfn);
      const level = pool.walkLevel;
      t.advance(p.tdpWalkLevelNs);
      const lo = pool.lo[idx];
      if (isShadowPresent(lo) && isLastSpte(lo, level)) {
        const hi = pool.hi.get(idx);
        // handle_changed_spte in stevens-v11 marks only SPTEs whose page is refcounted.
        if (this.kvm.adPolicy.spteRefcountedBit) {
          if (hi & HI_PAGE_REFCOUNTED) this.kvm.faultin.zappedRefcounted++;
          else this.kvm.faultin.zappedNonRefcounted++;
        }
        pool.lo[idx] = NONPRESENT_LO;
        pool.hi.set(idx, NONPRESENT_HI);
        // handle_changed_spte: before 6.13, the dirty log and access tracking of the old SPTE.
        kvmTrackLeafSpteChange(t, this.kvm, lo, hi, NONPRESENT_LO, NONPRESENT_HI, false, gfn);
        t.advance(p.zapSpteNs);
        // handle_changed_spte: kvm_update_page_stats on the shared counter line.
        this.kvm.statPagesLine.rmwBy(t);
        zapped++;
      }
      const span = pagesPerLevel(level);
      gfn = (Math.floor(gfn / span) + 1) * span;
    }
    this.kvm.stats.sptesZapped += zapped;
    return zapped;
  }

  /** kvm_arch_flush_shadow_memslot: zap the slot's range under the write lock and flush. */
  flushShadowMemslot(t: SimThread, slot: KvmMemorySlot): void {
    this.kvm.mmuLock.writeLock(t);
    if (this.unmapGfnRange(t, slot.asId, slot.baseGfn, slot.baseGfn + slot.npages))
      this.kvm.flushRemoteTlbs(t);
    this.kvm.mmuLock.writeUnlock(t);
  }

  /** kvm_tdp_mmu_age_gfn_range / kvm_tdp_mmu_test_age_gfn (tdp-mmu-age.ts). */
  ageGfnRange(
    t: SimThread,
    asId: number,
    start: number,
    end: number,
    testOnly: boolean,
    lockless: boolean,
    bitmap: Uint32Array | null = null,
    lastGfn = 0,
  ): boolean {
    return kvmTdpMmuAgeGfnRange(this, t, asId, start, end, testOnly, lockless, bitmap, lastGfn);
  }
}
