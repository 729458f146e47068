/**
 * Models no kernel file: the simulator memory the shadow MMU's structures take (the rmaps of
 * arch/x86/kvm/mmu/mmu.c with their pte_list_descs, the rmap lock's bookkeeping, and the shadow
 * pages), measured for a VM and estimated per guest page for the run-size check.
 */
import { KVM_MMU_PAGE_OBJECT_BYTES } from './mmu-page.ts';
import { RMAP_HEADS_PER_LINE } from './rmap-lock.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** Bytes of one rmap head (an Int32Array slot) and of its lock's last-release time (a Float64). */
const RMAP_HEAD_BYTES = 4;
const RMAP_LOCK_TIME_BYTES = 8;
/** Bytes of a table's sptep_to_sp slot (a reference). */
const SPS_SLOT_BYTES = 8;

/**
 * Simulator bytes the shadow MMU adds per 4 KiB guest page it maps, beyond the SPTE pool the TDP
 * MMU has too (direct mode, 4 KiB leaves): the page's level-1 rmap head, the rmap lock's
 * bookkeeping of it (its release time and a share of its line's last CPU), and 1/512 of a level-2
 * head and of a level-1 shadow page (KvmMmuPage and its sptep_to_sp slot). No pte_list_desc is
 * needed: one SPTE maps each gfn and each shadow page has one parent, both stored in the head.
 */
export const SHADOW_MMU_BYTES_PER_GUEST_PAGE =
  RMAP_HEAD_BYTES +
  RMAP_LOCK_TIME_BYTES +
  4 / RMAP_HEADS_PER_LINE +
  (RMAP_HEAD_BYTES + RMAP_LOCK_TIME_BYTES) / 512 +
  (KVM_MMU_PAGE_OBJECT_BYTES + SPS_SLOT_BYTES) / 512;

/** What `mmu` holds beyond its SPTE pool now: every slot's rmaps, the pte_list_descs, the shadow pages. */
export function shadowMmuSimulatorBytes(mmu: ShadowMmu): number {
  let n = mmu.pteLists.bytes + mmu.sps.length * SPS_SLOT_BYTES + mmu.pool.tables * KVM_MMU_PAGE_OBJECT_BYTES;
  for (const r of mmu.rmaps.all()) n += r.bytes;
  return n;
}
