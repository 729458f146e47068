/**
 * Models no kernel file: how two kernel variants differ, computed from their data
 * (src/variants/kernel-variant.ts): every design parameter whose value is not the same.
 */
import type { KernelVariant } from './kernel-variant.ts';

/** The design parameters of a variant, with what each one means. */
export const VARIANT_PARAMETERS = {
  kvmAging: 'how KVM ages x86 SPTEs (kvm_age_gfn)',
  walkSecondaryMmu: 'MGLRU aging walks ask secondary MMUs (mmu_notifier_clear_young) for every present PTE',
  secondaryMmuCap: 'that walk is the runtime cap 0x8 of /sys/kernel/mm/lru_gen/enabled',
  bitmapYoung: 'secondary MMUs answer up to 64 PTEs per call with a bitmap',
  fastOnly: 'aging uses the fast_only notifiers: subscribers without fast aging are skipped',
} as const satisfies Partial<Record<keyof KernelVariant, string>>;

/** One parameter on which two variants differ. */
export interface VariantDifference {
  parameter: keyof typeof VARIANT_PARAMETERS;
  meaning: string;
  value: string | boolean;
  baseValue: string | boolean;
}

/** The parameters on which `v` differs from `base` (an absent optional flag is false). */
export function variantDifferences(v: KernelVariant, base: KernelVariant): VariantDifference[] {
  const diffs: VariantDifference[] = [];
  for (const [parameter, meaning] of Object.entries(VARIANT_PARAMETERS) as Array<
    [keyof typeof VARIANT_PARAMETERS, string]
  >) {
    const value = v[parameter] ?? false;
    const baseValue = base[parameter] ?? false;
    if (value !== baseValue) diffs.push({ parameter, meaning, value, baseValue });
  }
  return diffs;
}
