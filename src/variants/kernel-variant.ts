/**
 * Models no kernel file: the kernel variants mmulab simulates, as data: which design each
 * mechanism follows.
 */
import type { AgingLock } from '../kvm/kvm.ts';

/**
 * A kernel to simulate, as data: which design each mechanism follows. Variants are parameter sets,
 * not forks of the code.
 */
export interface KernelVariant {
  readonly name: string;
  /** Where it comes from and what it changes. */
  readonly description: string;
  /** How kvm_age_gfn / kvm_test_age_gfn synchronise on x86 (CONFIG_KVM_MMU_LOCKLESS_AGING). */
  readonly kvmAging: AgingLock;
  /**
   * MGLRU aging walks (walk_pte_range, walk_pmd_range) examine every present PTE of an mm with
   * MMU notifiers and clear its young state with {ptep,pmdp}_clear_young_notify. Without it the
   * walk only looks at PTEs whose CPU Accessed bit is set and never asks the secondary MMU.
   */
  readonly walkSecondaryMmu: boolean;
  /**
   * The walk of secondary MMUs is a runtime cap (0x8 in /sys/kernel/mm/lru_gen/enabled, seed 003's
   * LRU_GEN_SECONDARY_MMU_WALK) instead of always on.
   */
  readonly secondaryMmuCap: boolean;
  /** Secondary MMUs are asked about up to 64 PTEs per call with a bitmap (seed 000's series). */
  readonly bitmapYoung?: boolean;
  /**
   * Aging uses the fast_only notifier calls: subscribers without has_fast_aging are skipped, and
   * one that cannot answer quickly reports "not young" (seed 003 v7).
   */
  readonly fastOnly?: boolean;
}

/** The kernels mmulab knows, by name. */
export const KERNEL_VARIANTS: readonly KernelVariant[] = [
  {
    name: 'pre-6.12',
    description:
      'Linux before 6.12: MGLRU aging walks only test-and-clear the CPU Accessed bit (ptep_test_and_clear_young) and skip PTEs that are not young, so pages used only through KVM never look young to aging; KVM is consulted at eviction time only. KVM ages under mmu_lock for write.',
    kvmAging: 'write-lock',
    walkSecondaryMmu: false,
    secondaryMmuCap: false,
  },
  {
    name: '6.12',
    description:
      'Linux 6.12 (commits 1d4832becdc2, ddd6d8e975b1, "mm: multi-gen LRU: Have secondary MMUs participate in MM_WALK"): aging walks call mmu_notifier_clear_young for every present PTE of an mm with notifiers; KVM ages under mmu_lock for write. The "no opt" rows of seed 003.',
    kvmAging: 'write-lock',
    walkSecondaryMmu: true,
    secondaryMmuCap: false,
  },
  {
    name: '6.15',
    description:
      'Linux 6.15 (kvm-x86 "mmu changes for 6.15", "KVM: x86/mmu: Age sptes locklessly"): the same walk, with KVM aging x86 TDP MMU SPTEs under RCU with atomics, no mmu_lock. The "opt" rows of seed 003.',
    kvmAging: 'lockless',
    walkSecondaryMmu: true,
    secondaryMmuCap: false,
  },
  {
    name: 'v4',
    description:
      'Seed 003 as posted ("[PATCH v4 0/7] mm: multi-gen LRU: Walk secondary MMU page tables while aging", 2024-05-29): CONFIG_LRU_GEN_WALKS_SECONDARY_MMU=y and cap 0x8, so enabled reads 0x000f and writing a value without 0x8 stops aging walks from consulting secondary MMUs at run time; lockless x86 KVM aging; look-around only when no secondary MMU is subscribed.',
    kvmAging: 'lockless',
    walkSecondaryMmu: true,
    secondaryMmuCap: true,
  },
  {
    name: 'v2-bitmap',
    description:
      'The bitmap series reviewed in seed 000 ("mm/kvm: Improve parallelism for secondary MMU page fault handling", v2/v3, 2024): test_young/clear_young take a bitmap of up to 64 pages and return MMU_NOTIFIER_YOUNG, _FAST or _BITMAP_UNRELIABLE; aging walks and look-around test a window of PTEs in one call and clear the young ones in a second. KVM answers bitmaps only where it can age without mmu_lock (x86 TDP MMU, lockless); otherwise the bitmap is unreliable and MGLRU falls back to one call per PTE.',
    kvmAging: 'lockless',
    walkSecondaryMmu: true,
    secondaryMmuCap: false,
    bitmapYoung: true,
  },
  {
    name: 'v7-fast-only',
    description:
      'Seed 003 v7 (2024-09-26, 18 patches): aging walks call mmu_notifier_clear_young_fast_only, which skips subscribers without has_fast_aging; KVM x86 has fast aging when it can age without mmu_lock. With write-locked KVM aging (--aging write-lock) aging never sees guest accesses. Cap 0x8 kept.',
    kvmAging: 'lockless',
    walkSecondaryMmu: true,
    secondaryMmuCap: true,
    fastOnly: true,
  },
];

/** The kernel simulated when none is named. */
export const DEFAULT_KERNEL = '6.15';

/** Looks a variant up by name; undefined if unknown. */
export function kernelVariant(name: string): KernelVariant | undefined {
  return KERNEL_VARIANTS.find((v) => v.name === name);
}
