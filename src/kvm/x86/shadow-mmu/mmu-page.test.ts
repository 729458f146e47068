import { describe, expect, it } from 'vitest';
import {
  ActiveMmuPages,
  hash64,
  KvmMmuPage,
  kvmMmuChildRole,
  kvmMmuPageGetGfn,
  kvmPageTableHashfn,
  MmuPageHash,
  tdpRootRole,
} from './mmu-page.ts';

/** hash_64 with 64-bit integers, as include/linux/hash.h computes it. */
function hash64Ref(val: number, bits: number): number {
  const prod = (BigInt(val) * 0x61c8864680b583ebn) & 0xffffffffffffffffn;
  return Number(prod >> BigInt(64 - bits));
}

describe('kvm_page_table_hashfn', () => {
  it('is hash_64(gfn, 12), exactly', () => {
    for (const v of [
      0,
      1,
      2,
      511,
      512,
      0x40000,
      0x8000000,
      2 ** 32 + 5,
      2 ** 40 + 12345,
      123456789,
      2 ** 52 - 1,
    ])
      expect(hash64(v, 12)).toBe(hash64Ref(v, 12));
    expect(hash64(1, 32)).toBe(hash64Ref(1, 32));
    expect([kvmPageTableHashfn(0), kvmPageTableHashfn(1), kvmPageTableHashfn(512)]).toEqual([
      0,
      hash64Ref(1, 12),
      hash64Ref(512, 12),
    ]);
    expect(kvmPageTableHashfn(1)).toBe(0x61c);
  });
});

describe('kvm_mmu_page_role', () => {
  it('the TDP root role word and its children', () => {
    // level 4, direct, access 7, efer_nx, cr0_wp.
    expect(tdpRootRole(0, true)).toBe(0x3784);
    expect(tdpRootRole(0, false)).toBe(0x13784);
    expect(tdpRootRole(1, true)).toBe(0x01003784);
    expect(kvmMmuChildRole(0x3784, 7)).toBe(0x3783);
    expect(kvmMmuChildRole(kvmMmuChildRole(0x01013784, 7), 7)).toBe(0x01013782);
    const sp = new KvmMmuPage(0x01013782, 0x40000, 3, 1);
    expect([sp.level, sp.direct, sp.invalid, sp.asId, sp.adDisabled, sp.table]).toEqual([
      2,
      true,
      false,
      1,
      true,
      3,
    ]);
    // kvm_mmu_page_get_gfn: index i of a level-2 page maps gfn + i * 512.
    expect(kvmMmuPageGetGfn(sp, 3)).toBe(0x40000 + 3 * 512);
  });
});

describe('mmu_page_hash and active_mmu_pages', () => {
  it('hlist_add_head / hlist_del keep each bucket in newest-first order', () => {
    const h = new MmuPageHash();
    const a = new KvmMmuPage(0x3784, 0, 0, 0);
    const b = new KvmMmuPage(0x3783, 0, 1, 0);
    const c = new KvmMmuPage(0x3782, 512, 2, 0);
    h.add(a);
    h.add(b);
    h.add(c);
    expect(h.bucket(0)).toEqual([b, a]);
    expect(h.bucket(512)).toEqual([c]);
    h.del(b);
    expect(h.bucket(0)).toEqual([a]);
    h.del(a);
    expect(h.buckets[0]).toBe(null);
  });

  it('list_add at the head; the reverse walk is creation order', () => {
    const l = new ActiveMmuPages();
    const pages = [0, 1, 2, 3].map((i) => new KvmMmuPage(0x3784, i, i, 0));
    for (const p of pages) l.add(p);
    expect(l.toArray()).toEqual(pages);
    expect(l.head.next).toBe(pages[3]);
    l.del(pages[1]);
    expect([l.toArray(), l.length]).toEqual([[pages[0], pages[2], pages[3]], 3]);
  });
});
