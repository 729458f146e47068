/**
 * Models mm/vmscan.c: the Bloom filters of MGLRU's page-table walks (get_item_key,
 * test_bloom_filter, update_bloom_filter, reset_bloom_filter).
 */
import { BLOOM_FILTER_SHIFT } from './lruvec.ts';

/** Words of one 2^15-bit filter. */
const WORDS = (1 << BLOOM_FILTER_SHIFT) / 32;
const MASK = (1 << BLOOM_FILTER_SHIFT) - 1;

/**
 * The key of a page-table page: hash_ptr(pmd entry, 30) split into two 15-bit bit indices
 * (get_item_key). The model has no kernel addresses, so the PMD entry's index in the host
 * page-table pool stands for its address, hashed with hash_32.
 */
export function bloomKey(pmdEntryIdx: number, out: Int32Array): void {
  const h = Math.imul(pmdEntryIdx, 0x61c88647) >>> 2;
  out[0] = h & MASK;
  out[1] = (h >>> BLOOM_FILTER_SHIFT) & MASK;
}

/** test_bloom_filter: true when both bits are set, or when the filter is not allocated. */
export function testBloom(filter: Uint32Array | null, key: Int32Array): boolean {
  if (filter === null) return true;
  return (
    ((filter[key[0] >>> 5] >>> (key[0] & 31)) & 1) === 1 &&
    ((filter[key[1] >>> 5] >>> (key[1] & 31)) & 1) === 1
  );
}

/** update_bloom_filter: sets both bits. */
export function updateBloom(filter: Uint32Array, key: Int32Array): void {
  filter[key[0] >>> 5] |= 1 << (key[0] & 31);
  filter[key[1] >>> 5] |= 1 << (key[1] & 31);
}

/** A cleared filter (reset_bloom_filter). */
export function newBloom(): Uint32Array {
  return new Uint32Array(WORDS);
}
