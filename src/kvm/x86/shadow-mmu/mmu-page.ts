/**
 * Models struct kvm_mmu_page and union kvm_mmu_page_role (arch/x86/kvm/mmu/mmu_internal.h,
 * arch/x86/include/asm/kvm_host.h), kvm_mmu_page_get_gfn, is_obsolete_sp and kvm_page_table_hashfn
 * of arch/x86/kvm/mmu/mmu.c, with hash_64 (include/linux/hash.h), kvm->arch.mmu_page_hash and the
 * active_mmu_pages list (include/linux/list.h order).
 */
import { pagesPerLevel } from '../tdp-mmu/spte-pool.ts';

// union kvm_mmu_page_role, bit by bit (role.word).
/** role.level: bits 0-3. */
export const ROLE_LEVEL_MASK = 0xf;
/** role.has_4_byte_gpte: bit 4. */
export const ROLE_HAS_4_BYTE_GPTE = 1 << 4;
/** role.direct: bit 7 (quadrant is bits 5-6). */
export const ROLE_DIRECT = 1 << 7;
/** role.access: bits 8-10. */
export const ROLE_ACCESS_SHIFT = 8;
/** role.invalid: bit 11. */
export const ROLE_INVALID = 1 << 11;
/** role.efer_nx: bit 12. */
export const ROLE_EFER_NX = 1 << 12;
/** role.cr0_wp: bit 13 (smep_andnot_wp and smap_andnot_wp are bits 14-15). */
export const ROLE_CR0_WP = 1 << 13;
/** role.ad_disabled: bit 16. */
export const ROLE_AD_DISABLED = 1 << 16;
/** role.guest_mode: bit 17 (passthrough is bit 18, is_mirror bit 19). */
export const ROLE_GUEST_MODE = 1 << 17;
/** smm sits in the top byte, so kvm_memslots_for_spte_role gets the address space with a shift. */
export const ROLE_SMM_SHIFT = 24;
/** ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK. */
export const ACC_ALL = 7;

/**
 * The root role of a direct (TDP) MMU, kvm_calc_tdp_mmu_root_page_role: 4 levels (EPT), direct,
 * ACC_ALL, cr0_wp and efer_nx set, ad_disabled when EPT A/D bits are off, smm = address space.
 */
export function tdpRootRole(asId: number, adEnabled: boolean): number {
  return (
    (4 |
      ROLE_DIRECT |
      (ACC_ALL << ROLE_ACCESS_SHIFT) |
      ROLE_CR0_WP |
      ROLE_EFER_NX |
      (adEnabled ? 0 : ROLE_AD_DISABLED) |
      (asId << ROLE_SMM_SHIFT)) >>>
    0
  );
}

/**
 * kvm_mmu_child_role for a direct child: the parent's role one level down, access and direct as
 * given, passthrough clear.
 */
export function kvmMmuChildRole(parentRole: number, access: number): number {
  const level = (parentRole & ROLE_LEVEL_MASK) - 1;
  const r =
    (parentRole & ~(ROLE_LEVEL_MASK | (7 << ROLE_ACCESS_SHIFT))) | level | (access << ROLE_ACCESS_SHIFT);
  return (r | ROLE_DIRECT) >>> 0;
}

/** Simulator bytes of one KvmMmuPage object (V8's header and its dozen fields; an estimate). */
export const KVM_MMU_PAGE_OBJECT_BYTES = 128;

/**
 * struct kvm_mmu_page: one shadow page (512 SPTEs in the shadow MMU's pool at table `spt`) with
 * its role, the gfn it maps from, its parent SPTEs (a pte_list head, see `PteLists`), and its links
 * in mmu_page_hash (hash_link) and active_mmu_pages (link).
 */
export class KvmMmuPage {
  /** role.word. */
  role: number;
  /** Parent SPTEs pointing at this page (parent_ptes, a pte_list head). */
  parentPtes = 0;
  /** Indirect pages only; a direct page is never unsync. */
  unsync = false;
  /** An MMIO SPTE was installed in this page (mark_mmio_spte sets it). */
  mmioCached = false;
  /** Roots of vCPUs using this page as their root (root_count). */
  rootCount = 0;
  /** link: neighbours in active_mmu_pages (or the invalid list). */
  prev: KvmMmuPage | null = null;
  next: KvmMmuPage | null = null;
  /** hash_link. */
  hashPrev: KvmMmuPage | null = null;
  hashNext: KvmMmuPage | null = null;

  constructor(
    role: number,
    /** The first gfn this page maps (sp->gfn). */
    readonly gfn: number,
    /** The page's table in the SPTE pool (sp->spt). */
    readonly spt: number,
    /** kvm->arch.mmu_valid_gen when the page was created. */
    readonly mmuValidGen: number,
  ) {
    this.role = role;
  }

  /** role.level. */
  get level(): number {
    return this.role & ROLE_LEVEL_MASK;
  }
  /** role.direct. */
  get direct(): boolean {
    return (this.role & ROLE_DIRECT) !== 0;
  }
  /** role.invalid (also the TdpRoot view for the MMU interface). */
  get invalid(): boolean {
    return (this.role & ROLE_INVALID) !== 0;
  }
  /** kvm_mmu_page_as_id: role.smm. */
  get asId(): number {
    return this.role >>> ROLE_SMM_SHIFT;
  }
  /** sp_ad_disabled. */
  get adDisabled(): boolean {
    return (this.role & ROLE_AD_DISABLED) !== 0;
  }
  /** The TdpRoot view: the root's table. */
  get table(): number {
    return this.spt;
  }
  /** The TdpRoot view: root_count. */
  get refcount(): number {
    return this.rootCount;
  }
  set refcount(n: number) {
    this.rootCount = n;
  }
}

/** kvm_mmu_page_get_gfn for a direct page: sp->gfn + index << ((level - 1) * SPTE_LEVEL_BITS). */
export function kvmMmuPageGetGfn(sp: KvmMmuPage, index: number): number {
  return sp.gfn + index * pagesPerLevel(sp.level);
}

/** is_obsolete_sp: invalid, or created under another mmu_valid_gen (no page here is a TDP MMU page). */
export function isObsoleteSp(sp: KvmMmuPage, mmuValidGen: number): boolean {
  return sp.invalid || sp.mmuValidGen !== mmuValidGen;
}

/** KVM_MMU_HASH_SHIFT: kvm->arch.mmu_page_hash has KVM_NUM_MMU_PAGES = 4096 buckets. */
export const KVM_MMU_HASH_SHIFT = 12;
/** KVM_NUM_MMU_PAGES: buckets of mmu_page_hash. */
export const KVM_NUM_MMU_PAGES = 1 << KVM_MMU_HASH_SHIFT;
/** GOLDEN_RATIO_64 = 0x61C8864680B583EB, as two 32-bit halves. */
const GOLDEN_RATIO_64_HI = 0x61c88646;
const GOLDEN_RATIO_64_LO = 0x80b583eb;

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + Math.floor(p01 / 0x10000) + Math.floor(p10 / 0x10000) + Math.floor(mid / 0x10000)) >>> 0;
}

/** hash_64(val, bits) = (val * GOLDEN_RATIO_64) >> (64 - bits), for val < 2^53 and bits <= 32. */
export function hash64(val: number, bits: number): number {
  const lo = val >>> 0;
  const hi = Math.floor(val / 0x100000000) >>> 0;
  const top =
    (mulHi32(lo, GOLDEN_RATIO_64_LO) +
      Math.imul(lo, GOLDEN_RATIO_64_HI) +
      Math.imul(hi, GOLDEN_RATIO_64_LO)) >>>
    0;
  return top >>> (32 - bits);
}

/** kvm_page_table_hashfn. */
export function kvmPageTableHashfn(gfn: number): number {
  return hash64(gfn, KVM_MMU_HASH_SHIFT);
}

/** kvm->arch.mmu_page_hash: KVM_NUM_MMU_PAGES hlists of shadow pages, keyed by gfn. */
export class MmuPageHash {
  readonly buckets: (KvmMmuPage | null)[] = new Array(KVM_NUM_MMU_PAGES).fill(null);

  /** hlist_add_head into the gfn's bucket. */
  add(sp: KvmMmuPage): void {
    const b = kvmPageTableHashfn(sp.gfn);
    const h = this.buckets[b];
    sp.hashNext = h;
    sp.hashPrev = null;
    if (h !== null) h.hashPrev = sp;
    this.buckets[b] = sp;
  }

  /** hlist_del. */
  del(sp: KvmMmuPage): void {
    if (sp.hashPrev !== null) sp.hashPrev.hashNext = sp.hashNext;
    else this.buckets[kvmPageTableHashfn(sp.gfn)] = sp.hashNext;
    if (sp.hashNext !== null) sp.hashNext.hashPrev = sp.hashPrev;
    sp.hashPrev = null;
    sp.hashNext = null;
  }

  /** The pages of `gfn`'s bucket, first to last (all gfns that hash there). */
  bucket(gfn: number): KvmMmuPage[] {
    const out: KvmMmuPage[] = [];
    for (let sp = this.buckets[kvmPageTableHashfn(gfn)]; sp !== null; sp = sp.hashNext) out.push(sp);
    return out;
  }
}

/**
 * kvm->arch.active_mmu_pages: a FIFO list. list_add puts a new page at the head, so walking from
 * the tail (list_for_each_entry_safe_reverse) visits pages oldest first.
 */
export class ActiveMmuPages {
  /** The list head; `head.prev` is the tail (oldest page). */
  readonly head = new KvmMmuPage(0, -1, -1, -1);
  /** Pages on the list. */
  length = 0;

  constructor() {
    this.head.prev = this.head;
    this.head.next = this.head;
  }

  /** list_add: at the head (newest). */
  add(sp: KvmMmuPage): void {
    const first = this.head.next!;
    sp.next = first;
    sp.prev = this.head;
    first.prev = sp;
    this.head.next = sp;
    this.length++;
  }

  /** list_del. */
  del(sp: KvmMmuPage): void {
    sp.prev!.next = sp.next;
    sp.next!.prev = sp.prev;
    sp.prev = null;
    sp.next = null;
    this.length--;
  }

  /** Pages oldest first (creation order). */
  toArray(): KvmMmuPage[] {
    const out: KvmMmuPage[] = [];
    for (let sp = this.head.prev!; sp !== this.head; sp = sp.prev!) out.push(sp);
    return out;
  }
}
