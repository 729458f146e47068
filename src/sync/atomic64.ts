/**
 * Models the SPTE atomics of the TDP MMU: try_cmpxchg64 in tdp_mmu_set_spte_atomic
 * (arch/x86/kvm/mmu/tdp_mmu.c) and atomic64_fetch_and in tdp_mmu_clear_spte_bits_atomic (tdp_iter.h).
 * Atomic operations on a 64-bit page-table word kept as two 32-bit words (`lo[i]`, `hi.get(i)`), as the
 * kernel's try_cmpxchg64 / xchg / fetch-and on SPTEs. A simulated operation never interleaves with
 * another thread's, so each is atomic by construction; what these helpers keep is the contract:
 * a cmpxchg that finds a different value fails and changes nothing.
 */

/** The high words of a set of 64-bit words: read and written one at a time, however they are stored. */
export interface HiWords {
  get(i: number): number;
  set(i: number, v: number): void;
}

/** try_cmpxchg64: installs (newLo, newHi) if the word still holds (oldLo, oldHi). */
export function cmpxchg64(
  lo: Uint32Array,
  hi: HiWords,
  i: number,
  oldLo: number,
  oldHi: number,
  newLo: number,
  newHi: number,
): boolean {
  if (lo[i] !== oldLo || hi.get(i) !== oldHi) return false;
  lo[i] = newLo;
  hi.set(i, newHi);
  return true;
}

/** atomic64_fetch_and on the low word only (bits 0-31), returning the old low word. */
export function fetchAndLo(lo: Uint32Array, i: number, mask: number): number {
  const old = lo[i];
  lo[i] = (old & mask) >>> 0;
  return old;
}
