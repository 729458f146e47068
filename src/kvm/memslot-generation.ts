/**
 * Models the memslot generation of virt/kvm/kvm_main.c: its start in kvm_create_vm and its update
 * in kvm_swap_active_memslots (install_new_memslots before v5.1), as data for two kernels.
 *
 * The kernel's generation is a u64. Here it is a number: bits 0-51 hold the low 52 bits of the
 * kernel's counter exactly (all arithmetic is modulo 2^52, which keeps them as the u64 arithmetic
 * does), and KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS, bit 63 in the kernel, is 2^52. Nothing reads the
 * counter's bits 52-62: MMIO SPTEs keep 19 or 20 bits and the vCPU caches compare whole values.
 */

/** KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (BIT_ULL(63) in the kernel; 2^52 here, see the header). */
export const KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS = 2 ** 52;
/** The counter's modulus: the counter is the kernel's u64 modulo 2^52. */
const GEN_COUNTER_MOD = 2 ** 52;

/**
 * How a memslot update moves the generation.
 * - `v5.1` (today, since "KVM: Move the memslot update in-progress flag to bit 63"): the inactive
 *   set gets `gen | IN_PROGRESS` before the swap; after synchronize_srcu the generation becomes
 *   `gen + nr_as`, so address space `i` keeps the values `i mod nr_as`.
 * - `v4.20` (what seed 001 reviews): bit 0 is the update-in-progress flag (`generation + 1`), then
 *   `+= KVM_ADDRESS_SPACE_NUM * 2 - 1`: every update adds 2 * nr_as.
 */
export type MemslotGenProtocol = 'v5.1' | 'v4.20';

/**
 * Where kvm_create_vm starts address space `i`.
 * - `as-id`: `i` today (`i * 2` in v4.20, whose bit 0 is the flag).
 * - `minus-150`: `i * 2 - 150`, the hack that brought the MMIO generation wraparound within ~75
 *   updates ("Init kvm generation close to the maximum"), removed in v5.1 by "KVM: Remove the hack
 *   to trigger memslot generation wraparound".
 */
export type MemslotGenStart = 'as-id' | 'minus-150';

/** Reduces a possibly negative counter value to the modelled u64 (modulo 2^52). */
function wrapCounter(x: number): number {
  return ((x % GEN_COUNTER_MOD) + GEN_COUNTER_MOD) % GEN_COUNTER_MOD;
}

/** The generation kvm_create_vm gives both memslot sets of address space `as`. */
export function kvmMemslotsStartGeneration(
  as: number,
  protocol: MemslotGenProtocol,
  start: MemslotGenStart,
): number {
  if (start === 'minus-150') return wrapCounter(as * 2 - 150);
  return protocol === 'v5.1' ? as : as * 2;
}

/** Whether a memslot update is in progress (the flag of `protocol` is set in `gen`). */
export function memslotGenUpdateInProgress(gen: number, protocol: MemslotGenProtocol): boolean {
  return protocol === 'v5.1' ? gen >= KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS : gen % 2 === 1;
}

/** The generation the new set carries while it is swapped in (step 1 of the swap). */
export function memslotGenUpdateBegin(gen: number, protocol: MemslotGenProtocol): number {
  if (memslotGenUpdateInProgress(gen, protocol))
    throw new Error('WARN_ON: memslot generation already in progress');
  return protocol === 'v5.1' ? gen + KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS : wrapCounter(gen + 1);
}

/**
 * The generation after the update, from the generation `gen` before it: `gen + nr_as` (v5.1) or
 * `gen + 1 + (nr_as * 2 - 1)` (v4.20).
 */
export function memslotGenUpdateEnd(gen: number, nrAs: number, protocol: MemslotGenProtocol): number {
  return protocol === 'v5.1' ? wrapCounter(gen + nrAs) : wrapCounter(gen + 2 * nrAs);
}
