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

  /** Slots by id (the id hash of struct kvm_memslots). */
  readonly byId = new Map<number, KvmMemorySlot>();
  /** The largest slot's size in bytes, so an hva lookup can start from a binary search. */
  private maxBytes = 0;

  /** Replaces `old` by `next` (either may be null), as kvm_replace_memslot does for this set. */
  replace(old: KvmMemorySlot | null, next: KvmMemorySlot | null): void {
    if (old !== null) {
      this.byGfn.splice(this.byGfn.indexOf(old), 1);
      this.byHva.splice(this.byHva.indexOf(old), 1);
      this.byId.delete(old.id);
      if (this.lastUsed === old) this.lastUsed = next;
    }
    if (next !== null) {
      const g = lowerBound(this.byGfn, next.baseGfn, (s) => s.baseGfn);
      if (this.byGfn[g]?.baseGfn === next.baseGfn) throw new Error('duplicate base gfn in gfn_tree');
      this.byGfn.splice(g, 0, next);
      const h = upperBound(this.byHva, next.userspaceAddr, (s) => s.userspaceAddr);
      this.byHva.splice(h, 0, next);
      this.byId.set(next.id, next);
      this.maxBytes = Math.max(this.maxBytes, next.npages * 4096);
    }
  }

  /** The slot other than `exceptId` whose gfns meet [base, base + npages), or null (the gfn tree walk). */
  overlappingGfn(base: number, npages: number, exceptId: number): KvmMemorySlot | null {
    const end = base + npages;
    for (let i = lowerBound(this.byGfn, end, (s) => s.baseGfn) - 1; i >= 0; i--) {
      const s = this.byGfn[i];
      // The set's slots do not overlap: their ends rise with their bases.
      if (s.baseGfn + s.npages <= base) break;
      if (s.id !== exceptId) return s;
    }
    return null;
  }

  /** Index in byGfn of the first slot that ends above `gfn` (the gfn tree's descent). */
  firstGfnIndex(gfn: number): number {
    const i = lowerBound(this.byGfn, gfn, (s) => s.baseGfn);
    const prev = this.byGfn[i - 1];
    return prev !== undefined && prev.baseGfn + prev.npages > gfn ? i - 1 : i;
  }

  /** Index in byHva of the first slot that can end above `start` (the interval tree's descent). */
  firstHvaIndex(start: number): number {
    return lowerBound(this.byHva, start - this.maxBytes + 1, (s) => s.userspaceAddr);
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
    for (let i = this.firstHvaIndex(start); i < this.byHva.length; i++) {
      const s = this.byHva[i];
      if (s.userspaceAddr >= end) break;
      if (s.userspaceAddr + s.npages * 4096 > start) out.push(s);
    }
    return out;
  }
}

/** The first index of sorted `a` whose key is >= `k`. */
function lowerBound<T>(a: readonly T[], k: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(a[mid]) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of sorted `a` whose key is > `k` (equal keys keep their insertion order). */
function upperBound<T>(a: readonly T[], k: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(a[mid]) <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
