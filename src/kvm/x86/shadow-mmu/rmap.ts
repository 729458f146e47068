/**
 * Models arch/x86/kvm/mmu/mmu.c: the shadow MMU's gfn rmaps, __rmap_add and rmap_remove (each
 * under the rmap head's lock, kvm_rmap_lock).
 */
import type { SimThread } from '../../../sim/thread.ts';
import type { KvmMemorySlot } from '../../memslots.ts';
import { gfnToIndex } from './memslot-rmap.ts';
import { kvmMmuPageGetGfn } from './mmu-page.ts';
import { kvmZapAllRmapSptes } from './rmap-handlers.ts';
import { kvmRmapLock, kvmRmapUnlock } from './rmap-lock.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** RMAP_RECYCLE_THRESHOLD: an rmap longer than this is zapped whole by __rmap_add. */
export const RMAP_RECYCLE_THRESHOLD = 1000;

/**
 * __rmap_add: kvm_update_page_stats(+1), pte_list_add on the gfn's rmap at the page's level
 * under the rmap lock (max_mmu_rmap_size), and a zap of the whole rmap past
 * RMAP_RECYCLE_THRESHOLD.
 */
export function rmapAdd(mmu: ShadowMmu, t: SimThread, slot: KvmMemorySlot, sptep: number, gfn: number): void {
  const sp = mmu.sptepToSp(sptep);
  mmu.kvm.statPagesLine.rmwBy(t);
  const rmaps = mmu.rmaps.of(slot);
  const heads = rmaps.rmap[sp.level - 1];
  const times = mmu.rmapLocking ? rmaps.lockTimes(sp.level) : null;
  const i = gfnToIndex(gfn, slot.baseGfn, sp.level);
  const old = kvmRmapLock(mmu, t, heads, i, times);
  kvmRmapUnlock(mmu, t, heads, i, mmu.pteLists.add(old, sptep), times);
  const count = mmu.pteLists.count;
  if (count > mmu.stats.maxMmuRmapSize) mmu.stats.maxMmuRmapSize = count;
  if (count > RMAP_RECYCLE_THRESHOLD) {
    kvmZapAllRmapSptes(mmu, t, heads, i, times);
    mmu.kvm.flushRemoteTlbs(t);
  }
}

/**
 * rmap_remove: pte_list_remove under the rmap lock; the memslot comes from the page's role
 * (kvm_memslots_for_spte_role).
 */
export function rmapRemove(mmu: ShadowMmu, t: SimThread, sptep: number): void {
  const sp = mmu.sptepToSp(sptep);
  const gfn = kvmMmuPageGetGfn(sp, sptep & 511);
  const slot = mmu.kvm.memslots(sp.asId).gfnToMemslot(gfn);
  if (slot === null) throw new Error(`rmap_remove: gfn 0x${gfn.toString(16)} has no memslot`);
  const rmaps = mmu.rmaps.of(slot);
  const heads = rmaps.rmap[sp.level - 1];
  const times = mmu.rmapLocking ? rmaps.lockTimes(sp.level) : null;
  const i = gfnToIndex(gfn, slot.baseGfn, sp.level);
  const old = kvmRmapLock(mmu, t, heads, i, times);
  kvmRmapUnlock(mmu, t, heads, i, mmu.pteLists.remove(old, sptep), times);
}
