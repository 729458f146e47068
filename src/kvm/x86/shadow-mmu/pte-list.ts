/**
 * Models the pte_list of arch/x86/kvm/mmu/mmu.c: struct pte_list_desc, the kvm_rmap_head encoding,
 * pte_list_add, pte_list_remove (pte_list_desc_remove_entry), pte_list_count, kvm_zap_all_rmap_sptes'
 * walk and the rmap_get_first / rmap_get_next iterator. Shared by the rmaps (SPTEs mapping a gfn)
 * and a shadow page's parent_ptes.
 */

/** SPTEs per descriptor (PTE_LIST_EXT, 14 since 6.4: the descriptor fills two cache lines). */
export const PTE_LIST_EXT = 14;

/**
 * The descriptors of every pte_list of one VM (the pte_list_desc_cache), as typed arrays. An SPTE is
 * named by its index in the shadow MMU's SPTE pool (table * 512 + index), its "pointer".
 *
 * A list head (kvm_rmap_head.val) is a number: 0 is an empty list, `sptep + 1` a single SPTE, and
 * `-(desc + 1)` a descriptor chain (the KVM_RMAP_MANY bit). As in the kernel, a new descriptor
 * becomes the head of the chain and only the head may be partly full: tail descriptors are full.
 */
export class PteLists {
  /** Per descriptor: the next descriptor (`more`), or -1. */
  more: Int32Array;
  /** Per descriptor: SPTEs stored in it (spte_count). */
  spteCount: Uint8Array;
  /** Per descriptor: SPTEs stored in all its tails (tail_count). */
  tailCount: Int32Array;
  /** PTE_LIST_EXT SPTE slots per descriptor. */
  sptes: Int32Array;
  private used = 0;
  private readonly free: number[] = [];
  /** Descriptors in use. */
  descs = 0;
  /** Count returned by the last `add`: entries in the list before the new one. */
  count = 0;
  /** Iterator state of `first` / `next` (struct rmap_iterator): descriptor and position. */
  private iterDesc = -1;
  private iterPos = 0;

  constructor(initial = 64) {
    this.more = new Int32Array(initial);
    this.spteCount = new Uint8Array(initial);
    this.tailCount = new Int32Array(initial);
    this.sptes = new Int32Array(initial * PTE_LIST_EXT);
  }

  /**
   * pte_list_add: adds `sptep` to the list `head` and returns the new head; `count` is set to the
   * number of entries the list had (the kernel's return value).
   */
  add(head: number, sptep: number): number {
    if (head === 0) {
      this.count = 0;
      return sptep + 1;
    }
    if (head > 0) {
      const d = this.alloc();
      this.sptes[d * PTE_LIST_EXT] = head - 1;
      this.sptes[d * PTE_LIST_EXT + 1] = sptep;
      this.spteCount[d] = 2;
      this.tailCount[d] = 0;
      this.more[d] = -1;
      this.count = 1;
      return -(d + 1);
    }
    let d = -head - 1;
    const count = this.tailCount[d] + this.spteCount[d];
    this.count = count;
    if (this.spteCount[d] === PTE_LIST_EXT) {
      const n = this.alloc();
      this.more[n] = d;
      this.spteCount[n] = 0;
      this.tailCount[n] = count;
      d = n;
    }
    this.sptes[d * PTE_LIST_EXT + this.spteCount[d]++] = sptep;
    return -(d + 1);
  }

  /**
   * pte_list_remove: removes `sptep` from the list and returns the new head. The freed slot takes
   * the head descriptor's last entry (pte_list_desc_remove_entry), so tails stay full; an emptied
   * head descriptor is freed. A missing entry is KVM_BUG_ON_DATA_CORRUPTION: it throws.
   */
  remove(head: number, sptep: number): number {
    if (head === 0) throw new Error('pte_list_remove: empty list (KVM_BUG_ON_DATA_CORRUPTION)');
    if (head > 0) {
      if (head - 1 !== sptep)
        throw new Error('pte_list_remove: SPTE not in list (KVM_BUG_ON_DATA_CORRUPTION)');
      return 0;
    }
    const h = -head - 1;
    for (let d = h; d >= 0; d = this.more[d]) {
      const base = d * PTE_LIST_EXT;
      for (let i = 0; i < this.spteCount[d]; i++) {
        if (this.sptes[base + i] !== sptep) continue;
        const j = --this.spteCount[h];
        this.sptes[base + i] = this.sptes[h * PTE_LIST_EXT + j];
        this.sptes[h * PTE_LIST_EXT + j] = -1;
        if (this.spteCount[h] !== 0) return head;
        const next = this.more[h];
        this.release(h);
        return next < 0 ? 0 : -(next + 1);
      }
    }
    throw new Error('pte_list_remove: SPTE not in list (KVM_BUG_ON_DATA_CORRUPTION)');
  }

  /** pte_list_count. */
  countOf(head: number): number {
    if (head === 0) return 0;
    if (head > 0) return 1;
    const d = -head - 1;
    return this.tailCount[d] + this.spteCount[d];
  }

  /** rmap_get_first: the first SPTE of the list, or -1; starts the iteration `next` continues. */
  first(head: number): number {
    if (head === 0) return -1;
    if (head > 0) {
      this.iterDesc = -1;
      return head - 1;
    }
    this.iterDesc = -head - 1;
    this.iterPos = 0;
    return this.sptes[this.iterDesc * PTE_LIST_EXT];
  }

  /** rmap_get_next: the next SPTE after `first` / `next`, or -1. The list must not change meanwhile. */
  next(): number {
    const d = this.iterDesc;
    if (d < 0) return -1;
    if (this.iterPos < this.spteCount[d] - 1) return this.sptes[d * PTE_LIST_EXT + ++this.iterPos];
    this.iterDesc = this.more[d];
    if (this.iterDesc < 0) return -1;
    this.iterPos = 0;
    return this.sptes[this.iterDesc * PTE_LIST_EXT];
  }

  /** Frees every descriptor of the list (the end of kvm_zap_all_rmap_sptes); the head becomes 0. */
  freeAll(head: number): void {
    for (let d = head < 0 ? -head - 1 : -1; d >= 0; ) {
      const next = this.more[d];
      this.release(d);
      d = next;
    }
  }

  /** The list's SPTEs in iteration order (for tests and checks). */
  toArray(head: number): number[] {
    const out: number[] = [];
    for (let s = this.first(head); s >= 0; s = this.next()) out.push(s);
    return out;
  }

  private alloc(): number {
    let d = this.free.pop();
    if (d === undefined) {
      if (this.used === this.more.length) this.grow(this.more.length * 2);
      d = this.used++;
    }
    this.descs++;
    return d;
  }

  /** mmu_free_pte_list_desc. */
  private release(d: number): void {
    this.descs--;
    this.spteCount[d] = 0;
    this.free.push(d);
  }

  private grow(n: number): void {
    const more = new Int32Array(n);
    more.set(this.more);
    const spteCount = new Uint8Array(n);
    spteCount.set(this.spteCount);
    const tailCount = new Int32Array(n);
    tailCount.set(this.tailCount);
    const sptes = new Int32Array(n * PTE_LIST_EXT);
    sptes.set(this.sptes);
    this.more = more;
    this.spteCount = spteCount;
    this.tailCount = tailCount;
    this.sptes = sptes;
  }
}
