/**
 * Models arch/x86/kvm/mmu/tdp_mmu.c: the end of a TDP MMU root: kvm_tdp_mmu_invalidate_roots,
 * kvm_tdp_mmu_zap_invalidated_roots, tdp_mmu_zap_root (with handle_removed_pt freeing the
 * page-table pages it unlinks) and kvm_tdp_mmu_put_root.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { isShadowPresentPte } from '../mmio-spte.ts';
import { isLastSpte, NONPRESENT_HI, NONPRESENT_LO } from '../spte.ts';
import { kvmTrackLeafSpteChange } from '../spte-track.ts';
import type { TdpMmu, TdpRoot } from './tdp-mmu.ts';

/** kvm_tdp_mmu_invalidate_roots (mmu_lock held for write): every valid root becomes invalid, its zap scheduled. */
export function kvmTdpMmuInvalidateRoots(mmu: TdpMmu): void {
  for (const root of mmu.roots) {
    if (root.invalid) continue;
    root.scheduledToZap = true;
    root.invalid = true;
  }
}

/**
 * kvm_tdp_mmu_zap_invalidated_roots (mmu_lock held for read): zap each root scheduled for it, then
 * drop the reference the root held while it was valid.
 */
export function kvmTdpMmuZapInvalidatedRoots(mmu: TdpMmu, t: SimThread): void {
  const rcu = mmu.kvm.host.rcu;
  for (const root of [...mmu.roots]) {
    if (!root.scheduledToZap) continue;
    root.scheduledToZap = false;
    rcu.readLock(t);
    mmu.kvm.stats.sptesZapped += zapTable(mmu, t, root.table, mmu.pool.level[root.table]);
    rcu.readUnlock(t);
    kvmTdpMmuPutRoot(mmu, root);
  }
}

/**
 * tdp_mmu_zap_root for one page-table page: every present SPTE becomes SHADOW_NONPRESENT_VALUE; a
 * leaf updates kvm->stat.pages (handle_changed_spte), a child table is zapped in turn and freed
 * (handle_removed_pt). No TLB flush: the root is invalid and vCPUs reload before they enter again.
 * Returns the leaves zapped.
 */
function zapTable(mmu: TdpMmu, t: SimThread, table: number, level: number): number {
  const pool = mmu.pool;
  const p = mmu.kvm.engine.profile;
  const layout = mmu.kvm.mmioGen.layout;
  t.advance(p.tdpWalkLevelNs);
  let zapped = 0;
  for (let idx = table * 512; idx < table * 512 + 512; idx++) {
    const lo = pool.lo[idx];
    // Nothing, or an MMIO SPTE: no leaf to account (the table is freed with it).
    if (!isShadowPresentPte(layout, pool, idx)) continue;
    if (isLastSpte(lo, level)) {
      kvmTrackLeafSpteChange(t, mmu.kvm, lo, pool.hi.get(idx), NONPRESENT_LO, NONPRESENT_HI);
      t.advance(p.zapSpteNs);
      mmu.kvm.statPagesLine.rmwBy(t);
      zapped++;
    } else {
      const child = pool.child(idx);
      zapped += zapTable(mmu, t, child, level - 1);
      pool.release(child);
    }
    pool.lo[idx] = NONPRESENT_LO;
    pool.hi.set(idx, NONPRESENT_HI);
  }
  return zapped;
}

/**
 * kvm_tdp_mmu_put_root: the last reference frees the root page. Only an invalid root can lose its
 * last one (a valid root holds a reference of its own), and it was zapped when it lost that one.
 */
export function kvmTdpMmuPutRoot(mmu: TdpMmu, root: TdpRoot): void {
  if (--root.refcount > 0) return;
  if (!root.invalid) throw new Error('KVM_BUG_ON: freeing a valid TDP MMU root');
  mmu.roots.splice(mmu.roots.indexOf(root), 1);
  mmu.pool.release(root.table);
}
