import { describe, expect, it } from 'vitest';
import {
  KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS,
  kvmMemslotsStartGeneration,
  memslotGenUpdateBegin,
  memslotGenUpdateEnd,
  memslotGenUpdateInProgress,
} from './memslot-generation.ts';

/** The generations of `n` updates of one address space, starting at `gen`. */
function updates(gen: number, n: number, nrAs: number, protocol: 'v5.1' | 'v4.20'): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    gen = memslotGenUpdateEnd(gen, nrAs, protocol);
    out.push(gen);
  }
  return out;
}

describe('memslot generations (kvm_create_vm, kvm_swap_active_memslots)', () => {
  it('starts address space i at i today, at 2i in v4.20, and at 2i - 150 with the hack', () => {
    expect([0, 1].map((as) => kvmMemslotsStartGeneration(as, 'v5.1', 'as-id'))).toEqual([0, 1]);
    expect([0, 1].map((as) => kvmMemslotsStartGeneration(as, 'v4.20', 'as-id'))).toEqual([0, 2]);
    // -150 and -148 as u64, modulo 2^52: 2^52 - 150 = 0xfffffffffff6a.
    expect([0, 1].map((as) => kvmMemslotsStartGeneration(as, 'v5.1', 'minus-150'))).toEqual([
      0xfffffffffff6a, 0xfffffffffff6c,
    ]);
  });

  it('v5.1: IN_PROGRESS during the swap, then + nr_as; address spaces stay apart', () => {
    const during = memslotGenUpdateBegin(4, 'v5.1');
    expect(during).toBe(KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS + 4);
    expect(memslotGenUpdateInProgress(during, 'v5.1')).toBe(true);
    expect(memslotGenUpdateInProgress(4, 'v5.1')).toBe(false);
    expect(() => memslotGenUpdateBegin(during, 'v5.1')).toThrow('already in progress');
    expect(updates(0, 3, 2, 'v5.1')).toEqual([2, 4, 6]);
    expect(updates(1, 3, 2, 'v5.1')).toEqual([3, 5, 7]);
  });

  it('v4.20: bit 0 during the swap, then + 2 * nr_as', () => {
    expect(memslotGenUpdateBegin(4, 'v4.20')).toBe(5);
    expect(memslotGenUpdateInProgress(5, 'v4.20')).toBe(true);
    expect(updates(0, 3, 2, 'v4.20')).toEqual([4, 8, 12]);
    expect(updates(2, 3, 2, 'v4.20')).toEqual([6, 10, 14]);
  });

  it('the -150 start crosses zero after 75 updates (v5.1, AS 0) as the u64 does', () => {
    const g = updates(kvmMemslotsStartGeneration(0, 'v5.1', 'minus-150'), 76, 2, 'v5.1');
    expect(g[73]).toBe(2 ** 52 - 2);
    expect(g[74]).toBe(0);
    expect(g[75]).toBe(2);
    // With the hack AS 1 runs two behind AS 0: AS 0 after k+1 updates equals AS 1 after k.
    const as1 = updates(kvmMemslotsStartGeneration(1, 'v5.1', 'minus-150'), 3, 2, 'v5.1');
    expect(as1).toEqual([g[1], g[2], g[3]]);
  });
});
