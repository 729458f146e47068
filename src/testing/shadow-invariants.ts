/**
 * Test support: the correctness oracle's shadow-MMU invariants over arch/x86/kvm/mmu/mmu.c state:
 * the rmaps (slot->arch.rmap[], pte_list_desc chains) against the present leaf SPTEs of every live
 * shadow page, and kvm_mmu_free_shadow_page never freeing a page still reachable from a root.
 *
 * - `rmap-missing`: a present leaf SPTE of a live shadow page (sptep_to_sp not freed) is not on
 *   the rmap of its gfn and level in its memslot (rmap_add missed it, or the slot is gone and the
 *   SPTE survived kvm_mmu_zap_memslot).
 * - `rmap-stale`: an rmap entry names an SPTE that is not a present leaf of that gfn and level
 *   (rmap_remove missed it: kvm_zap_rmap or a later walk would follow a dangling pointer), or
 *   names one twice.
 * - `rmap-locked`: an rmap head still has KVM_RMAP_LOCKED between steps.
 * - `freed-reachable` (at the free): kvm_mmu_free_shadow_page runs on a page that a walk from a
 *   root still reaches (kvm_mmu_prepare_zap_page must have unlinked it first).
 */
import type { Kvm } from '../kvm/kvm.ts';
import { gfnToIndex, type SlotRmaps } from '../kvm/x86/shadow-mmu/memslot-rmap.ts';
import { type KvmMmuPage, kvmMmuPageGetGfn } from '../kvm/x86/shadow-mmu/mmu-page.ts';
import { KVM_RMAP_LOCKED } from '../kvm/x86/shadow-mmu/pte-list.ts';
import type { ShadowMmu } from '../kvm/x86/shadow-mmu/shadow-mmu.ts';
import { isLastSpte, isShadowPresent } from '../kvm/x86/spte.ts';
import { type Violation, walkRoots } from './mmu-invariants.ts';

/** The live shadow pages: every sptep_to_sp entry still set. */
function liveSps(mmu: ShadowMmu): KvmMmuPage[] {
  const out: KvmMmuPage[] = [];
  for (const sp of mmu.sps) if (sp !== null && sp !== undefined) out.push(sp);
  return out;
}

/** An rmap key: the SlotRmaps, the level and the head index. */
function rmapKey(rmaps: SlotRmaps, level: number, i: number, ids: Map<SlotRmaps, number>): string {
  let id = ids.get(rmaps);
  if (id === undefined) {
    id = ids.size;
    ids.set(rmaps, id);
  }
  return `${id}:${level}:${i}`;
}

/**
 * An rmap entry exists exactly for each present leaf SPTE of a live shadow page, on the head of
 * its gfn (gfn_to_rmap) at the page's level, and no head is left locked.
 */
export function checkRmaps(kvm: Kvm, mmu: ShadowMmu, out: Violation[]): void {
  const ids = new Map<SlotRmaps, number>();
  // What the rmaps should hold, from the SPTEs: rmap key -> sptep set.
  const expected = new Map<number, string>();
  for (const sp of liveSps(mmu)) {
    const level = sp.level;
    for (let i = 0; i < 512; i++) {
      const sptep = sp.spt * 512 + i;
      const lo = mmu.pool.lo[sptep];
      if (!isShadowPresent(lo) || !isLastSpte(lo, level)) continue;
      const gfn = kvmMmuPageGetGfn(sp, i);
      const slot = kvm.memslots(sp.asId).search(gfn);
      if (slot === null) {
        out.push({
          id: 'rmap-missing',
          detail: `leaf SPTE ${sptep} maps gfn 0x${gfn.toString(16)}, no memslot`,
        });
        continue;
      }
      expected.set(sptep, rmapKey(mmu.rmaps.of(slot), level, gfnToIndex(gfn, slot.baseGfn, level), ids));
    }
  }
  const seen = new Set<number>();
  for (const rmaps of mmu.rmaps.all()) {
    for (let level = 1; level <= rmaps.rmap.length; level++) {
      const heads = rmaps.rmap[level - 1];
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (head === 0) continue;
        if (head & KVM_RMAP_LOCKED)
          out.push({ id: 'rmap-locked', detail: `rmap level ${level} head ${i} keeps KVM_RMAP_LOCKED` });
        const key = rmapKey(rmaps, level, i, ids);
        for (const sptep of mmu.pteLists.toArray(head)) {
          if (expected.get(sptep) !== key || seen.has(sptep))
            out.push({
              id: 'rmap-stale',
              detail: `rmap level ${level} head ${i} (slot base 0x${rmaps.baseGfn.toString(16)}) names SPTE ${sptep}, not a present leaf of it`,
            });
          seen.add(sptep);
        }
      }
    }
  }
  for (const sptep of expected.keys())
    if (!seen.has(sptep))
      out.push({
        id: 'rmap-missing',
        detail: `leaf SPTE ${sptep} is on no rmap (expected ${expected.get(sptep)})`,
      });
}

/**
 * Wraps `mmu.kvmMmuFreeShadowPage` on this instance (the model's code is unchanged): before each
 * free, walks every root and reports `freed-reachable` into `out` if the page is still reached.
 * Returns a function that removes the wrap.
 */
export function watchShadowFrees(kvm: Kvm, mmu: ShadowMmu, out: Violation[]): () => void {
  const free = mmu.kvmMmuFreeShadowPage;
  mmu.kvmMmuFreeShadowPage = (sp: KvmMmuPage): void => {
    const walk = walkRoots(kvm, []);
    if (walk.tables.has(sp.spt))
      out.push({
        id: 'freed-reachable',
        detail: `kvm_mmu_free_shadow_page of level-${sp.level} page gfn 0x${sp.gfn.toString(16)} (table ${sp.spt}) still reachable from a root`,
      });
    free.call(mmu, sp);
  };
  return () => {
    mmu.kvmMmuFreeShadowPage = free;
  };
}
