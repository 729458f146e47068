/**
 * Models the memslots of include/linux/kvm_host.h: struct kvm_memslots, search_memslots,
 * __gfn_to_memslot, __gfn_to_hva_memslot, hva_to_gfn_memslot (kvm_replace_memslot: virt/kvm/kvm_main.c).
 */
/** KVM_MEM_READONLY. */
export const KVM_MEM_READONLY = 1 << 1;
/** KVM_MEMSLOT_INVALID: internal flag of a slot being deleted or moved. */
export const KVM_MEMSLOT_INVALID = 1 << 16;

/** struct kvm_memory_slot. */
export interface KvmMemorySlot {
  readonly id: number;
  readonly asId: number;
  readonly baseGfn: number;
  readonly npages: number;
  readonly userspaceAddr: number;
  readonly flags: number;
}

/**
 * struct kvm_memslots: one set of an address space. Slots are kept sorted by base gfn (the gfn
 * rb-tree) and by host address (the hva interval tree).
 */
export class KvmMemslots {
  /** The generation (u64 in the kernel; encoded as in memslot-generation.ts). */
  generation: number;
  readonly byGfn: KvmMemorySlot[] = [];
  readonly byHva: KvmMemorySlot[] = [];
  lastUsed: KvmMemorySlot | null = null;

  constructor(generation: number) {
    this.generation = generation;
  }

  /** Replaces `old` by `next` (either may be null), as kvm_replace_memslot does for this set. */
  replace(old: KvmMemorySlot | null, next: KvmMemorySlot | null): void {
    if (old !== null) {
      this.byGfn.splice(this.byGfn.indexOf(old), 1);
      this.byHva.splice(this.byHva.indexOf(old), 1);
      if (this.lastUsed === old) this.lastUsed = next;
    }
    if (next !== null) {
      if (this.byGfn.some((s) => s.baseGfn === next.baseGfn))
        throw new Error('duplicate base gfn in gfn_tree');
      this.byGfn.push(next);
      this.byGfn.sort((a, b) => a.baseGfn - b.baseGfn);
      this.byHva.push(next);
      this.byHva.sort((a, b) => a.userspaceAddr - b.userspaceAddr);
    }
  }

  /** search_memslots(gfn, approx=false). */
  search(gfn: number): KvmMemorySlot | null {
    const s = this.byGfn;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = s[mid];
      if (gfn < m.baseGfn) hi = mid - 1;
      else if (gfn >= m.baseGfn + m.npages) lo = mid + 1;
      else return m;
    }
    return null;
  }

  /** __gfn_to_memslot: the cached slot first, then a search. */
  gfnToMemslot(gfn: number): KvmMemorySlot | null {
    const c = this.lastUsed;
    if (c !== null && gfn >= c.baseGfn && gfn < c.baseGfn + c.npages) return c;
    const s = this.search(gfn);
    if (s !== null) this.lastUsed = s;
    return s;
  }

  /** Slots whose host range overlaps [start, end) (kvm_for_each_memslot_in_hva_range). */
  overlappingHva(start: number, end: number): KvmMemorySlot[] {
    const out: KvmMemorySlot[] = [];
    for (const s of this.byHva) {
      if (s.userspaceAddr >= end) break;
      if (s.userspaceAddr + s.npages * 4096 > start) out.push(s);
    }
    return out;
  }
}

/** __gfn_to_hva_memslot. */
export function gfnToHvaMemslot(slot: KvmMemorySlot, gfn: number): number {
  return slot.userspaceAddr + (gfn - slot.baseGfn) * 4096;
}

/** hva_to_gfn_memslot (no bounds check; callers clamp first). */
export function hvaToGfnMemslot(hva: number, slot: KvmMemorySlot): number {
  return slot.baseGfn + Math.floor((hva - slot.userspaceAddr) / 4096);
}

/** An invalid copy of a slot (kvm_invalidate_memslot step 1). */
export function invalidCopy(slot: KvmMemorySlot): KvmMemorySlot {
  return { ...slot, flags: slot.flags | KVM_MEMSLOT_INVALID };
}
