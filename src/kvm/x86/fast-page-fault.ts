/**
 * Models arch/x86/kvm/mmu/mmu.c: fast_page_fault's fix of the last SPTE, shared by the TDP MMU
 * (kvm_tdp_mmu_fast_pf_get_last_sptep) and the shadow MMU (fast_pf_get_last_sptep).
 */
import type { SimThread } from '../../sim/thread.ts';
import { cmpxchg64 } from '../../sync/atomic64.ts';
import { RET_PF_FIXED, RET_PF_INVALID, RET_PF_SPURIOUS } from './kvm-mmu.ts';
import {
  EPT_D,
  EPT_R,
  EPT_W,
  HI_MMU_WRITABLE,
  isAccessTrackSpte,
  isLastSpte,
  isShadowPresent,
  restoreAccTrackSpte,
  type Spte,
  spteAdEnabled,
} from './spte.ts';
import type { SptePool } from './tdp-mmu/spte-pool.ts';

/**
 * fast_page_fault without mmu_lock: walk locklessly from `rootTable` to the last SPTE of `gfn`,
 * then restore an access-tracked SPTE or make an MMU-writable one writable with one cmpxchg; up to
 * 4 tries (the kernel's retry bound). RET_PF_INVALID sends the fault down the slow path. The caller
 * holds what keeps the tables alive (RCU for the TDP MMU, walk_shadow_page_lockless_begin's
 * interrupts off for the shadow MMU). `tmp` is scratch space.
 */
export function fastPageFaultFix(
  t: SimThread,
  pool: SptePool,
  rootTable: number,
  gfn: number,
  write: boolean,
  tmp: Spte,
): number {
  const fastPageFaultNs = t.engine.profile.fastPageFaultNs;
  for (let retry = 0; retry < 4; retry++) {
    const idx = pool.walk(rootTable, gfn);
    const level = pool.walkLevel;
    const oldLo = pool.lo[idx];
    const oldHi = pool.hi.get(idx);
    t.advance(fastPageFaultNs);
    if (!isShadowPresent(oldLo) || !isLastSpte(oldLo, level)) return RET_PF_INVALID;
    if (write ? oldLo & EPT_W : oldLo & EPT_R) return RET_PF_SPURIOUS;
    let lo = oldLo;
    let hi = oldHi;
    if (isAccessTrackSpte(lo, hi)) {
      restoreAccTrackSpte(tmp, lo, hi);
      lo = tmp.lo;
      hi = tmp.hi;
    }
    if (write && !(lo & EPT_W)) {
      if (!(hi & HI_MMU_WRITABLE)) return RET_PF_INVALID;
      lo |= EPT_W | (spteAdEnabled(hi) ? EPT_D : 0);
    }
    if ((lo === oldLo && hi === oldHi) || !(write ? lo & EPT_W : lo & EPT_R)) return RET_PF_INVALID;
    if (cmpxchg64(pool.lo, pool.hi, idx, oldLo, oldHi, lo >>> 0, hi >>> 0)) return RET_PF_FIXED;
  }
  return RET_PF_INVALID;
}
