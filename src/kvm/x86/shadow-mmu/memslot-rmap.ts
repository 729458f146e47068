/**
 * Models the x86 memslot rmaps of arch/x86/kvm/mmu/mmu.c (struct kvm_arch_memory_slot's rmap[],
 * memslot_rmap_alloc, gfn_to_index, gfn_to_rmap) and the slot_rmap_walk_iterator levels.
 */
import type { KvmMemorySlot } from '../../memslots.ts';
import { RmapLockTimes } from './rmap-lock.ts';

/** KVM_MAX_HUGEPAGE_LEVEL = PG_LEVEL_1G: rmaps exist for levels 1 (4K), 2 (2M) and 3 (1G). */
export const KVM_MAX_HUGEPAGE_LEVEL = 3;
/** KVM_NR_PAGE_SIZES. */
export const KVM_NR_PAGE_SIZES = 3;

/** KVM_PAGES_PER_HPAGE(level): the gfns one rmap head of the level covers (1 << KVM_HPAGE_GFN_SHIFT). */
export function kvmPagesPerHpage(level: number): number {
  return level === 1 ? 1 : level === 2 ? 512 : 262144;
}

/** gfn_to_index: (gfn >> shift) - (base_gfn >> shift). */
export function gfnToIndex(gfn: number, baseGfn: number, level: number): number {
  const span = kvmPagesPerHpage(level);
  return Math.floor(gfn / span) - Math.floor(baseGfn / span);
}

/**
 * slot->arch.rmap[level - 1]: one rmap head (kvm_rmap_head.val, a `PteLists` head) per gfn step of
 * the level, for one memslot. The INVALID copy made while a slot is deleted or moved shares it, as
 * it shares `arch` in the kernel.
 */
export class SlotRmaps {
  /** Heads per level (index level - 1). */
  readonly rmap: Int32Array[] = [];
  /** The rmap lock's bookkeeping per level, made on first use (6.15's rmap lock only). */
  private readonly locks: (RmapLockTimes | null)[] = [null, null, null];

  constructor(
    readonly baseGfn: number,
    readonly npages: number,
  ) {
    // memslot_rmap_alloc: lpages = gfn_to_index(base + npages - 1, base, level) + 1 per level.
    for (let level = 1; level <= KVM_NR_PAGE_SIZES; level++)
      this.rmap.push(new Int32Array(gfnToIndex(baseGfn + npages - 1, baseGfn, level) + 1));
  }

  /** The rmap lock bookkeeping of the heads of `level`. */
  lockTimes(level: number): RmapLockTimes {
    let l = this.locks[level - 1];
    if (l === null) {
      l = new RmapLockTimes(this.rmap[level - 1].length);
      this.locks[level - 1] = l;
    }
    return l;
  }

  /** Simulator bytes: the heads (4 each) and the rmap lock's bookkeeping where it was made. */
  get bytes(): number {
    let n = 0;
    for (const r of this.rmap) n += r.byteLength;
    for (const l of this.locks) n += l?.bytes ?? 0;
    return n;
  }

  /** Bytes of rmap heads (8 per head in the kernel: an unsigned long). */
  get kernelBytes(): number {
    let n = 0;
    for (const r of this.rmap) n += r.length * 8;
    return n;
  }
}

/**
 * The rmaps of every memslot, allocated on first use (memslot_rmap_alloc, which the kernel runs for
 * every slot when the first shadow root is made, mmu_first_shadow_root_alloc). Keyed by address
 * space and slot id; a slot that moved gets fresh rmaps (the old ones were zapped empty).
 */
export class MemslotRmaps {
  private readonly bySlot = new Map<number, SlotRmaps>();

  /** The rmaps of `slot`. */
  of(slot: KvmMemorySlot): SlotRmaps {
    const key = slot.asId * 0x10000 + slot.id;
    let r = this.bySlot.get(key);
    if (r === undefined || r.baseGfn !== slot.baseGfn || r.npages !== slot.npages) {
      r = new SlotRmaps(slot.baseGfn, slot.npages);
      this.bySlot.set(key, r);
    }
    return r;
  }

  /** Every slot's rmaps. */
  all(): IterableIterator<SlotRmaps> {
    return this.bySlot.values();
  }
}
