/**
 * Models the shadow MMU of arch/x86/kvm/mmu/mmu.c in direct (TDP) mode, as used with
 * kvm.tdp_mmu=0: mmu_alloc_direct_roots / mmu_alloc_root, kvm_mmu_find_shadow_page,
 * kvm_mmu_alloc_shadow_page, kvm_mmu_get_shadow_page, rmap_add (__rmap_add), rmap_remove,
 * mmu_spte_clear_track_bits, drop_spte, drop_parent_pte; the fault path is in direct-map.ts, zapping
 * in zap.ts, the MMU-notifier handlers in rmap-handlers.ts. As the VM's `X86Mmu` (kvm.tdp_mmu=0) it
 * also answers is_obsolete_root and puts roots (kvm_mmu_free_roots).
 */
import type { SimThread } from '../../../sim/thread.ts';
import type { Kvm } from '../../kvm.ts';
import type { KvmMemorySlot } from '../../memslots.ts';
import type { MmuFault, MmuRoot, X86Mmu } from '../kvm-mmu.ts';
import { isShadowPresent, NONPRESENT_HI, NONPRESENT_LO, type Spte } from '../spte.ts';
import { kvmTrackLeafSpteChange } from '../spte-track.ts';
import { SptePool } from '../tdp-mmu/spte-pool.ts';
import { directMap, fastPageFault } from './direct-map.ts';
import { MemslotRmaps } from './memslot-rmap.ts';
import { shadowGetMmioSpte } from './mmio-sptes.ts';
import {
  ActiveMmuPages,
  isObsoleteSp,
  KvmMmuPage,
  kvmPageTableHashfn,
  MmuPageHash,
  tdpRootRole,
} from './mmu-page.ts';
import { kvmMmuCalculateDefaultMmuPages, makeMmuPagesAvailable } from './mmu-pages-limit.ts';
import { PteLists } from './pte-list.ts';
import { rmapRemove } from './rmap.ts';
import { ageGfnRange, unmapGfnRange, zapMemslot } from './rmap-handlers.ts';
import { kvmRmapLock, kvmRmapUnlock } from './rmap-lock.ts';
import { ShadowMmuStats } from './shadow-mmu-stats.ts';
import { shadowMmuSimulatorBytes } from './simulator-bytes.ts';
import { kvmMmuFreeRoot, kvmMmuZapAllFast } from './zap.ts';

/**
 * The x86 shadow MMU (arch/x86/kvm/mmu/mmu.c) of one VM in direct mode: shadow pages
 * (`KvmMmuPage`, their SPTEs in one `SptePool`), the mmu_page_hash, active_mmu_pages, per-memslot
 * rmaps of pte_list_descs, and mmu_valid_gen. Everything that changes SPTEs runs with mmu_lock held
 * for write, the fault path included (direct_page_fault).
 */
export class ShadowMmu implements X86Mmu {
  /** The SPTEs of every shadow page (sp->spt), 512 per table, with each table's level and gfn. */
  readonly pool = new SptePool();
  /** sptep_to_sp: the shadow page of each table (page_private of the table's page). */
  readonly sps: (KvmMmuPage | null)[] = [];
  /** kvm->arch.mmu_page_hash. */
  readonly hash = new MmuPageHash();
  /** kvm->arch.active_mmu_pages. */
  readonly activeMmuPages = new ActiveMmuPages();
  /** The rmaps of every memslot (slot->arch.rmap). */
  readonly rmaps = new MemslotRmaps();
  /** pte_list_desc_cache: descriptors of the rmaps and of parent_ptes. */
  readonly pteLists = new PteLists();
  /** A one-head array that a page's parent_ptes passes through to be locked like an rmap. */
  private readonly parentPtes = new Int32Array(1);
  /** Roots that vCPUs hold (root_count > 0), oldest first. */
  readonly roots: KvmMmuPage[] = [];
  readonly stats = new ShadowMmuStats();
  readonly adEnabled: boolean;
  /** direct_page_fault holds mmu_lock for write. */
  readonly faultLockShared = false;
  /** kvm->arch.n_max_mmu_pages and n_requested_mmu_pages (KVM_SET_NR_MMU_PAGES; mmu-pages-limit.ts). */
  nMaxMmuPages = 0;
  nRequestedMmuPages = 0;
  /** kvm->arch.mmu_valid_gen: 0 or 1, toggled by kvm_mmu_zap_all_fast. */
  mmuValidGen = 0;
  /** Scratch output of the SPTE builders. */
  readonly tmp: Spte = { lo: 0, hi: 0 };
  /**
   * The rmap heads carry KVM_RMAP_LOCKED and every writer of a chain takes it (6.15 and later,
   * where x86 ages without mmu_lock: the VM's `aging` is 'lockless'); before, writers store the head.
   */
  readonly rmapLocking: boolean;
  /** Time categories: spinning on an rmap lock, and pulling rmap heads' lines. */
  readonly rmapLockCat: number;
  readonly rmapLineCat: number;

  constructor(readonly kvm: Kvm) {
    this.adEnabled = kvm.opts.eptAd;
    this.rmapLocking = kvm.opts.aging === 'lockless';
    // n_max_mmu_pages belongs to the VM: an MMU made after its memslots starts from their default.
    this.nMaxMmuPages = kvmMmuCalculateDefaultMmuPages(kvm);
    this.rmapLockCat = kvm.engine.categories.lock('kvm_rmap_head');
    this.rmapLineCat = kvm.engine.categories.line('kvm_rmap_head');
  }

  /**
   * mmu_alloc_direct_roots → mmu_alloc_root(vcpu, 0, 0, 4): finds or makes the level-4 direct page
   * of gfn 0 with the address space's root role, and takes a root_count reference. (The model takes
   * no mmu_lock here, as `TdpMmu.allocRoot`: roots are loaded before vCPUs run.)
   */
  simulatorBytes(): number {
    return shadowMmuSimulatorBytes(this);
  }

  allocRoot(asId: number): KvmMmuPage {
    const sp = this.kvmMmuGetShadowPage(null, 0, tdpRootRole(asId, this.adEnabled));
    if (sp.rootCount++ === 0) this.roots.push(sp);
    return sp;
  }

  /** kvm_mmu_free_roots for one root (mmu_free_root_page under mmu_lock for write; zap.ts). */
  putRoot(t: SimThread, root: MmuRoot): void {
    kvmMmuFreeRoot(this, t, root as KvmMmuPage);
  }

  /** is_obsolete_root → is_obsolete_sp: role.invalid, or made under another mmu_valid_gen. */
  isObsoleteRoot(root: MmuRoot): boolean {
    return isObsoleteSp(root as KvmMmuPage, this.mmuValidGen);
  }

  /**
   * The shadow MMU's way to invalidate roots (mmu_lock held for write), as kvm_mmu_zap_all_fast
   * does it: toggle kvm->arch.mmu_valid_gen, so every page, roots included, is obsolete.
   */
  invalidateRoots(t: SimThread): void {
    if (this.kvm.mmuLock.writer !== t) throw new Error('invalidate roots: mmu_lock not held for write');
    this.mmuValidGen = this.mmuValidGen ? 0 : 1;
  }

  /** kvm_mmu_zap_all_fast (zap.ts): obsolete everything, request root reloads, zap with lock breaks. */
  zapAllFast(t: SimThread): Generator<void, void, void> {
    return kvmMmuZapAllFast(this, t);
  }

  /** get_mmio_spte: a lockless walk to the last SPTE (mmio-sptes.ts). */
  getMmioSpte(t: SimThread, root: MmuRoot, gfn: number, out: Spte): boolean {
    return shadowGetMmioSpte(this, t, root as KvmMmuPage, gfn, out);
  }

  /**
   * direct_map, with mmu_lock held for write (the shadow MMU's fault path; a no-slot fault marks an
   * MMIO SPTE and returns RET_PF_EMULATE). See direct-map.ts.
   */
  map(t: SimThread, root: KvmMmuPage, f: MmuFault): number {
    // direct_page_fault: make_mmu_pages_available first; -ENOSPC would fail KVM_RUN, which needs
    // every page to be an active root (the limit is at least KVM_MIN_ALLOC_MMU_PAGES).
    if (makeMmuPagesAvailable(this, t) < 0)
      throw new Error('direct_page_fault: -ENOSPC, every shadow page is a root');
    return directMap(this, t, root, f);
  }

  /** fast_page_fault on the shadow MMU (fast_pf_get_last_sptep). See direct-map.ts. */
  fastPageFault(t: SimThread, root: KvmMmuPage, gfn: number, write: boolean): number {
    return fastPageFault(this, t, root, gfn, write);
  }

  /** kvm_unmap_gfn_range's rmap part (kvm_zap_rmap); mmu_lock held for write. Returns flush. */
  unmapGfnRange(t: SimThread, asId: number, start: number, end: number): boolean {
    return unmapGfnRange(this, t, asId, start, end);
  }

  /** kvm_arch_flush_shadow_memslot without KVM_X86_QUIRK_SLOT_ZAP_ALL: kvm_mmu_zap_memslot. */
  flushShadowMemslot(t: SimThread, slot: KvmMemorySlot): void {
    zapMemslot(this, t, slot);
  }

  /**
   * kvm_age_gfn / kvm_test_age_gfn's rmap part (kvm_may_have_shadow_mmu_sptes always holds with
   * tdp_mmu=0). `lockless` (6.15): kvm_rmap_age_gfn_range without mmu_lock, under each rmap's
   * read-only lock (rmap-age.ts); otherwise kvm_age_rmap / kvm_test_age_rmap with mmu_lock held for
   * write (before 6.15). See rmap-handlers.ts.
   */
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
    return ageGfnRange(this, t, asId, start, end, testOnly, lockless, bitmap, lastGfn);
  }

  /** sptep_to_sp. */
  sptepToSp(sptep: number): KvmMmuPage {
    return this.sps[sptep >>> 9]!;
  }

  /**
   * kvm_mmu_find_shadow_page: the valid (not obsolete) page of `gfn` with role `role` in its hash
   * bucket, or null (mmu_cache_miss). Pages of other gfns in the bucket count as collisions.
   */
  kvmMmuFindShadowPage(gfn: number, role: number): KvmMmuPage | null {
    let collisions = 0;
    let found: KvmMmuPage | null = null;
    for (let sp = this.hash.buckets[kvmPageTableHashfn(gfn)]; sp !== null; sp = sp.hashNext) {
      if (isObsoleteSp(sp, this.mmuValidGen)) continue;
      if (sp.gfn !== gfn) {
        collisions++;
        continue;
      }
      // A direct page is never unsync, so a role mismatch needs no zap of unsync pages here.
      if (sp.role !== role) continue;
      found = sp;
      break;
    }
    if (found === null) this.stats.mmuCacheMiss++;
    if (collisions > this.stats.maxMmuPageHashCollisions) this.stats.maxMmuPageHashCollisions = collisions;
    return found;
  }

  /**
   * kvm_mmu_alloc_shadow_page: a zeroed (all SHADOW_NONPRESENT_VALUE) table, the current
   * mmu_valid_gen, list_add to active_mmu_pages (newest first), kvm_account_mmu_page and
   * hlist_add_head to the gfn's bucket. Charged as a page-table page allocation when `t` is given.
   */
  kvmMmuAllocShadowPage(t: SimThread | null, gfn: number, role: number): KvmMmuPage {
    const level = role & 0xf;
    const spt = this.pool.alloc(level, gfn, -1, NONPRESENT_HI);
    const sp = new KvmMmuPage(role, gfn, spt, this.mmuValidGen);
    this.sps[spt] = sp;
    this.activeMmuPages.add(sp);
    this.stats.nUsedMmuPages++;
    this.stats.pagesAllocated++;
    this.hash.add(sp);
    if (t !== null) t.advance(this.kvm.engine.profile.spAllocNs);
    return sp;
  }

  /** kvm_mmu_get_shadow_page (__kvm_mmu_get_shadow_page): find, else allocate. */
  kvmMmuGetShadowPage(t: SimThread | null, gfn: number, role: number): KvmMmuPage {
    return this.kvmMmuFindShadowPage(gfn, role) ?? this.kvmMmuAllocShadowPage(t, gfn, role);
  }

  /** kvm_mmu_free_shadow_page: out of the hash and the (invalid) list, the table back to the pool. */
  kvmMmuFreeShadowPage(sp: KvmMmuPage): void {
    this.hash.del(sp);
    sp.prev = null;
    sp.next = null;
    this.sps[sp.spt] = null;
    this.pool.release(sp.spt);
    this.stats.pagesFreed++;
  }

  /**
   * Adds `parentPte` to `sp`'s parent_ptes (mmu_page_add_parent_pte → pte_list_add, under that
   * list's rmap lock, which no lockless walker takes).
   */
  mmuPageAddParentPte(t: SimThread, sp: KvmMmuPage, parentPte: number): void {
    this.parentPtes[0] = sp.parentPtes;
    const old = kvmRmapLock(this, t, this.parentPtes, 0, null);
    kvmRmapUnlock(this, t, this.parentPtes, 0, this.pteLists.add(old, parentPte), null);
    sp.parentPtes = this.parentPtes[0];
  }

  /** slot->arch.rmap[level - 1]: gfn_to_rmap is this array at gfnToIndex(gfn, base, level). */
  slotRmap(slot: KvmMemorySlot, level: number): Int32Array {
    return this.rmaps.of(slot).rmap[level - 1];
  }

  /**
   * mmu_spte_clear_track_bits: the SPTE becomes SHADOW_NONPRESENT_VALUE; a present one was a leaf
   * leaving, kvm_update_page_stats(-1). Returns whether it was present. Charged as one leaf zap.
   */
  mmuSpteClearTrackBits(t: SimThread, sptep: number): boolean {
    const pool = this.pool;
    const lo = pool.lo[sptep];
    const present = isShadowPresent(lo);
    const hi = pool.hi.get(sptep);
    pool.lo[sptep] = NONPRESENT_LO;
    pool.hi.set(sptep, NONPRESENT_HI);
    if (!present) return false;
    // Before 6.13: kvm_set_pfn_accessed / kvm_set_pfn_dirty for the SPTE's A and D state.
    kvmTrackLeafSpteChange(t, this.kvm, lo, hi, NONPRESENT_LO, NONPRESENT_HI);
    t.advance(this.kvm.engine.profile.zapSpteNs);
    this.kvm.statPagesLine.rmwBy(t);
    this.kvm.stats.sptesZapped++;
    return true;
  }

  /**
   * drop_spte: clear the leaf, then take it off its rmap (a lockless walker holding the rmap lock
   * may meanwhile find the SPTE non-present in the chain).
   */
  dropSpte(t: SimThread, sptep: number): void {
    if (this.mmuSpteClearTrackBits(t, sptep)) rmapRemove(this, t, sptep);
  }

  /**
   * drop_parent_pte: off the child's parent_ptes (pte_list_remove, under that list's rmap lock),
   * then mmu_spte_clear_no_track.
   */
  dropParentPte(t: SimThread, sp: KvmMmuPage, parentPte: number): void {
    this.parentPtes[0] = sp.parentPtes;
    const old = kvmRmapLock(this, t, this.parentPtes, 0, null);
    kvmRmapUnlock(this, t, this.parentPtes, 0, this.pteLists.remove(old, parentPte), null);
    sp.parentPtes = this.parentPtes[0];
    this.pool.lo[parentPte] = NONPRESENT_LO;
    this.pool.hi.set(parentPte, NONPRESENT_HI);
  }
}
