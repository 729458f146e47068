/**
 * MMIO generations of one VM: kvm_arch_memslots_updated (arch/x86/kvm/x86.c) and
 * kvm_mmu_invalidate_mmio_sptes (arch/x86/kvm/mmu/mmu.c), called on every memslot update with the
 * new generation. When the generation kept in MMIO SPTEs wraps to zero, an old MMIO SPTE could
 * match again, so every MMIO SPTE must go: the zap strategy does that. It is pluggable, because
 * kernels differ (seed 001 argues between a walk of active_mmu_pages and a zap-all); the default is
 * today's kvm_mmu_zap_all_fast through the VM's x86 MMU (X86Mmu.zapAllFast).
 */
import type { SimThread } from '../../sim/thread.ts';
import type { Kvm } from '../kvm.ts';
import {
  KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS,
  type MemslotGenProtocol,
  type MemslotGenStart,
} from '../memslot-generation.ts';
import { MMIO_SPTE_LAYOUTS, type MmioSpteLayout } from './mmio-spte.ts';

/** What kvm_mmu_invalidate_mmio_sptes runs on a wraparound (it may drop locks and wait). */
export type MmioZapStrategy = (t: SimThread, kvm: Kvm) => Generator<void, void, void>;

/** The MMIO generation options of a VM (data: a kernel and a start value). */
export interface MmioGenOptions {
  /** The kernel whose MMIO SPTE layout and memslot generation protocol are used. */
  kernel: MemslotGenProtocol;
  /** The start generation of kvm_create_vm. */
  start: MemslotGenStart;
}

/** Default options: today's kernel. */
export const MMIO_GEN_DEFAULTS: MmioGenOptions = { kernel: 'v5.1', start: 'as-id' };

/** The model's MMIO counters of one VM (vcpu->stat.pf_mmio_spte_created and friends). */
export class MmioGenStats {
  /** kvm_arch_memslots_updated calls (one per memslot swap). */
  memslotsUpdated = 0;
  /** Generation wraparounds detected, each followed by one zap. */
  wraps = 0;
  /** MMIO SPTEs installed by the fault path (pf_mmio_spte_created). */
  mmioSptesCreated = 0;
  /** handle_mmio_page_fault results. */
  mmioFaultsEmulated = 0;
  mmioFaultsInvalid = 0;
  mmioFaultsRetried = 0;
  /** Of the emulated ones, those served by the vCPU's MMIO-info cache. */
  mmioCacheHits = 0;
  /** Accesses completed by emulation (KVM_EXIT_MMIO to the VMM). */
  mmioExits = 0;
}

/** The MMIO generation state of a VM: layout, protocol, zap strategy and counters. */
export class KvmMmioGen {
  readonly layout: MmioSpteLayout;
  readonly protocol: MemslotGenProtocol;
  readonly start: MemslotGenStart;
  readonly stats = new MmioGenStats();
  /** The wraparound zap; the default is kvm_mmu_zap_all_fast on the VM's MMU. */
  zap: MmioZapStrategy = function* (t, kvm) {
    yield* kvm.mmu.zapAllFast(t);
  };

  constructor(opts: MmioGenOptions = MMIO_GEN_DEFAULTS) {
    this.layout = MMIO_SPTE_LAYOUTS[opts.kernel];
    this.protocol = opts.kernel;
    this.start = opts.start;
  }
}

/** kvm_arch_memslots_updated (x86): MMIO generations (the steal-time vCPU kick is not modelled). */
export function* kvmArchMemslotsUpdated(t: SimThread, kvm: Kvm, gen: number): Generator<void, void, void> {
  kvm.mmioGen.stats.memslotsUpdated++;
  yield* kvmMmuInvalidateMmioSptes(t, kvm, gen);
}

/**
 * kvm_mmu_invalidate_mmio_sptes: masks the new generation to the MMIO generation; today it also
 * clears the address-space bits (`gen &= ~(nr_as - 1)`, "Detect MMIO generation wrap in any address
 * space"), v4.20 did not, so there only the address space that reaches exactly 0 zaps. On 0, the
 * zap strategy runs. Returns whether it did.
 */
export function* kvmMmuInvalidateMmioSptes(
  t: SimThread,
  kvm: Kvm,
  gen: number,
): Generator<void, boolean, void> {
  const mg = kvm.mmioGen;
  if (mg.protocol === 'v5.1' && gen >= KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS)
    throw new Error('WARN_ON_ONCE: kvm_mmu_invalidate_mmio_sptes with the update in progress');
  let g = gen & mg.layout.genMask;
  if (mg.layout.wrapIgnoresAsBits) g &= ~(kvm.nrAs - 1);
  if (g !== 0) return false;
  mg.stats.wraps++;
  yield* mg.zap(t, kvm);
  return true;
}
