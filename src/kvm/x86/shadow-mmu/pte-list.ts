/**
 * Models the pte_list of arch/x86/kvm/mmu/mmu.c: struct pte_list_desc, the kvm_rmap_head encoding
 * (KVM_RMAP_MANY, KVM_RMAP_LOCKED), pte_list_add, pte_list_remove (pte_list_desc_remove_entry),
 * pte_list_count, kvm_zap_all_rmap_sptes' walk and the rmap_get_first / rmap_get_next iterator.
 * Shared by the rmaps (SPTEs mapping a gfn) and a shadow page's parent_ptes. The rmap lock bit
 * itself is taken and dropped in rmap-lock.ts.
 */

/** SPTEs per descriptor (PTE_LIST_EXT, 14 since 6.4: the descriptor fills two cache lines). */
export const PTE_LIST_EXT = 14;
/** KVM_RMAP_MANY: bit 0 of kvm_rmap_head.val, the head points to a pte_list_desc. */
export const KVM_RMAP_MANY = 1;
/** KVM_RMAP_LOCKED: bit 1 of kvm_rmap_head.val (6.15), the rmap lock. */
export const KVM_RMAP_LOCKED = 2;

/** The head value of a single SPTE: its "pointer", never 0 and with bits 0-1 clear. */
export function rmapSpteVal(sptep: number): number {
  return (sptep + 1) << 2;
}

/** The head value of a descriptor chain: its "pointer" with KVM_RMAP_MANY. */
export function rmapDescVal(desc: number): number {
  return (desc << 2) | KVM_RMAP_MANY;
}

/**
 * The descriptors of every pte_list of one VM (the pte_list_desc_cache), as typed arrays. An SPTE is
 * named by its index in the shadow MMU's SPTE pool (table * 512 + index), its "pointer".
 *
 * A list head (kvm_rmap_head.val) is a number laid out as the kernel's: 0 is an empty list,
 * `rmapSpteVal(sptep)` a single SPTE, `rmapDescVal(desc)` a descriptor chain (KVM_RMAP_MANY), and
 * bit 1 is KVM_RMAP_LOCKED. SPTE pool indices stay below 2^29, so a head fits an Int32Array slot.
 * `add` and `remove` take and return unlocked values (what kvm_rmap_lock returns and
 * kvm_rmap_unlock stores); the walkers ignore the lock bit, as kvm_rmap_get does. As in the
 * kernel, a new descriptor becomes the head of the chain and only the head may be partly full:
 * tail descriptors are full.
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
    assertUnlocked(head, 'pte_list_add');
    if (head === 0) {
      this.count = 0;
      return rmapSpteVal(sptep);
    }
    if (!(head & KVM_RMAP_MANY)) {
      const d = this.alloc();
      this.sptes[d * PTE_LIST_EXT] = (head >> 2) - 1;
      this.sptes[d * PTE_LIST_EXT + 1] = sptep;
      this.spteCount[d] = 2;
      this.tailCount[d] = 0;
      this.more[d] = -1;
      this.count = 1;
      return rmapDescVal(d);
    }
    let d = head >> 2;
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
    return rmapDescVal(d);
  }

  /**
   * pte_list_remove: removes `sptep` from the list and returns the new head. The freed slot takes
   * the head descriptor's last entry (pte_list_desc_remove_entry), so tails stay full; an emptied
   * head descriptor is freed. A missing entry is KVM_BUG_ON_DATA_CORRUPTION: it throws.
   */
  remove(head: number, sptep: number): number {
    assertUnlocked(head, 'pte_list_remove');
    if (head === 0) throw new Error('pte_list_remove: empty list (KVM_BUG_ON_DATA_CORRUPTION)');
    if (!(head & KVM_RMAP_MANY)) {
      if ((head >> 2) - 1 !== sptep)
        throw new Error('pte_list_remove: SPTE not in list (KVM_BUG_ON_DATA_CORRUPTION)');
      return 0;
    }
    const h = head >> 2;
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
        return next < 0 ? 0 : rmapDescVal(next);
      }
    }
    throw new Error('pte_list_remove: SPTE not in list (KVM_BUG_ON_DATA_CORRUPTION)');
  }

  /** Simulator bytes of the descriptor arrays. */
  get bytes(): number {
    return (
      this.more.byteLength + this.spteCount.byteLength + this.tailCount.byteLength + this.sptes.byteLength
    );
  }

  /** pte_list_count (of the value without the lock bit, kvm_rmap_get). */
  countOf(head: number): number {
    const v = head & ~KVM_RMAP_LOCKED;
    if (v === 0) return 0;
    if (!(v & KVM_RMAP_MANY)) return 1;
    const d = v >> 2;
    return this.tailCount[d] + this.spteCount[d];
  }

  /**
   * rmap_get_first: the first SPTE of the list, or -1; starts the iteration `next` continues. The
   * lock bit is ignored (kvm_rmap_get), so a holder of the rmap lock can walk its rmap.
   */
  first(head: number): number {
    const v = head & ~KVM_RMAP_LOCKED;
    if (v === 0) return -1;
    if (!(v & KVM_RMAP_MANY)) {
      this.iterDesc = -1;
      return (v >> 2) - 1;
    }
    this.iterDesc = v >> 2;
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
    for (let d = head & KVM_RMAP_MANY ? head >> 2 : -1; d >= 0; ) {
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

/** WARN on a head value with the lock bit: the list functions take what kvm_rmap_lock returned. */
function assertUnlocked(head: number, what: string): void {
  if (head & KVM_RMAP_LOCKED)
    throw new Error(`${what}: head value has KVM_RMAP_LOCKED (take the rmap lock first)`);
}
