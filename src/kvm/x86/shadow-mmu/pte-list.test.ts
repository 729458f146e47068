import { describe, expect, it } from 'vitest';
import { KVM_RMAP_LOCKED, PTE_LIST_EXT, PteLists, rmapDescVal, rmapSpteVal } from './pte-list.ts';

describe('pte_list_add / pte_list_remove', () => {
  it('one SPTE is the head itself; the second makes a descriptor; a full head gets a new head', () => {
    const l = new PteLists(1);
    let h = l.add(0, 100);
    expect([h, rmapSpteVal(100), l.count, l.descs]).toEqual([404, 404, 0, 0]);
    h = l.add(h, 101);
    expect([h, rmapDescVal(0), l.count, l.descs]).toEqual([1, 1, 1, 1]);
    for (let s = 102; s < 100 + PTE_LIST_EXT; s++) h = l.add(h, s);
    expect([h, l.count, l.spteCount[0], l.descs]).toEqual([rmapDescVal(0), 13, 14, 1]);
    h = l.add(h, 114);
    // The new head descriptor 1 points at the full tail and counts its 14 entries.
    expect([h, l.count, l.descs, l.more[1], l.tailCount[1], l.spteCount[1]]).toEqual([5, 14, 2, 0, 14, 1]);
    h = l.add(h, 115);
    expect(l.count).toBe(15);
    expect(l.countOf(h)).toBe(16);
    expect(l.toArray(h)).toEqual([
      114, 115, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,
    ]);
  });

  it('removing from a tail moves the head descriptor last entry in; an emptied head is freed', () => {
    const l = new PteLists(1);
    let h = 0;
    for (let s = 100; s < 116; s++) h = l.add(h, s);
    h = l.remove(h, 105);
    expect(l.toArray(h)).toEqual([114, 100, 101, 102, 103, 104, 115, 106, 107, 108, 109, 110, 111, 112, 113]);
    expect([l.descs, l.spteCount[1], l.tailCount[0]]).toEqual([2, 1, 0]);
    h = l.remove(h, 114);
    expect([h, l.descs, l.countOf(h)]).toEqual([rmapDescVal(0), 1, 14]);
    expect(l.toArray(h)).toEqual([100, 101, 102, 103, 104, 115, 106, 107, 108, 109, 110, 111, 112, 113]);
    expect(() => l.remove(h, 999)).toThrow('KVM_BUG_ON_DATA_CORRUPTION');
  });

  it('a descriptor emptied to nothing leaves an empty list; a single entry must match', () => {
    const l = new PteLists();
    let h = l.add(l.add(0, 7), 8);
    h = l.remove(h, 7);
    expect([h, l.toArray(h), l.descs]).toEqual([rmapDescVal(0), [8], 1]);
    h = l.remove(h, 8);
    expect([h, l.descs, l.countOf(h), l.first(h)]).toEqual([0, 0, 0, -1]);
    expect(() => l.remove(l.add(0, 3), 4)).toThrow('KVM_BUG_ON_DATA_CORRUPTION');
    expect(() => l.remove(0, 4)).toThrow('empty list');
  });

  it('walkers ignore KVM_RMAP_LOCKED (kvm_rmap_get); add and remove refuse a locked value', () => {
    const l = new PteLists();
    const one = l.add(0, 0);
    expect(one).toBe(4);
    expect([l.first(one | KVM_RMAP_LOCKED), l.countOf(one | KVM_RMAP_LOCKED)]).toEqual([0, 1]);
    const many = l.add(one, 9);
    expect(l.toArray(many | KVM_RMAP_LOCKED)).toEqual([0, 9]);
    expect(() => l.add(many | KVM_RMAP_LOCKED, 10)).toThrow('pte_list_add: head value has KVM_RMAP_LOCKED');
    expect(() => l.remove(many | KVM_RMAP_LOCKED, 9)).toThrow(
      'pte_list_remove: head value has KVM_RMAP_LOCKED',
    );
  });

  it('freeAll returns every descriptor of a chain', () => {
    const l = new PteLists(1);
    let h = 0;
    for (let s = 0; s < 3 * PTE_LIST_EXT; s++) h = l.add(h, s);
    expect(l.descs).toBe(3);
    l.freeAll(h);
    expect(l.descs).toBe(0);
    // Freed descriptors are reused (the pool does not grow).
    const len = l.more.length;
    for (let s = 0; s < 3 * PTE_LIST_EXT; s++) h = l.add(s === 0 ? 0 : h, s);
    expect([l.descs, l.more.length]).toEqual([3, len]);
  });
});
