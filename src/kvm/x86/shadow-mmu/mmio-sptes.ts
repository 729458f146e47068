/**
 * Models the shadow MMU's MMIO SPTEs in arch/x86/kvm/mmu/mmu.c: mark_mmio_spte (reached from
 * mmu_set_spte for a no-slot pfn), the `mmio_cached` mark that seed 001's patch ("Revert: drop
 * kvm_mmu_zap_mmio_sptes") sets on the shadow page, get_mmio_spte over
 * walk_shadow_page_lockless_begin/end, and the MMIO branch of mmu_page_zap_pte.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { RET_PF_EMULATE } from '../kvm-mmu.ts';
import { isMmioSpte, makeMmioSpte } from '../mmio-spte.ts';
import { NONPRESENT_HI, NONPRESENT_LO, type Spte } from '../spte.ts';
import { ACC_ALL, type KvmMmuPage } from './mmu-page.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/**
 * mmu_set_spte for KVM_PFN_NOSLOT (mmu_lock held for write): pf_mmio_spte_created++, then
 * mark_mmio_spte: make_mmio_spte with the generation of the page's address space, the page marked
 * `mmio_cached` (the 2019 patch; kvm_mmu_zap_mmio_sptes walks those), and mmu_spte_set.
 * Returns RET_PF_EMULATE.
 */
export function markMmioSpte(mmu: ShadowMmu, t: SimThread, sptep: number, gfn: number): number {
  const kvm = mmu.kvm;
  const mg = kvm.mmioGen;
  const sp = mmu.sptepToSp(sptep);
  mg.stats.mmioSptesCreated++;
  makeMmioSpte(mmu.tmp, mg.layout, kvm.memslots(sp.asId).generation, gfn, ACC_ALL);
  sp.mmioCached = true;
  t.advance(kvm.engine.profile.spteInstallNs);
  mmu.pool.lo[sptep] = mmu.tmp.lo;
  mmu.pool.hi.set(sptep, mmu.tmp.hi);
  return RET_PF_EMULATE;
}

/**
 * get_mmio_spte on the shadow MMU: walk_shadow_page_lockless_begin, the walk from `root` to the
 * last SPTE for `gfn` (read into `out`), walk_shadow_page_lockless_end. True if it is an MMIO SPTE.
 */
export function shadowGetMmioSpte(
  mmu: ShadowMmu,
  t: SimThread,
  root: KvmMmuPage,
  gfn: number,
  out: Spte,
): boolean {
  const pool = mmu.pool;
  const idx = pool.walk(root.spt, gfn);
  t.advance(mmu.kvm.engine.profile.tdpWalkLevelNs * (root.level + 1 - pool.walkLevel));
  out.lo = pool.lo[idx];
  out.hi = pool.hi.get(idx);
  return isMmioSpte(mmu.kvm.mmioGen.layout, out.lo, out.hi);
}

/**
 * The MMIO branch of mmu_page_zap_pte: an MMIO SPTE is cleared (mmu_spte_clear_no_track, no rmap
 * to leave). Returns whether `sptep` held one; counted in `ShadowMmuStats.mmioSptesZapped`.
 */
export function zapMmioSpte(mmu: ShadowMmu, sptep: number): boolean {
  const pool = mmu.pool;
  if (!isMmioSpte(mmu.kvm.mmioGen.layout, pool.lo[sptep], pool.hi.get(sptep))) return false;
  pool.lo[sptep] = NONPRESENT_LO;
  pool.hi.set(sptep, NONPRESENT_HI);
  mmu.stats.mmioSptesZapped++;
  return true;
}
