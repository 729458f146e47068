/** `mmulab variants`: each kernel variant and every way it differs from the default kernel. */
import type { Command } from 'commander';
import { DEFAULT_KERNEL, KERNEL_VARIANTS, kernelVariant } from '../variants/kernel-variant.ts';
import { variantDifferences } from '../variants/variant-diff.ts';
import type { CliIo } from './cli-io.ts';

/** The variants as text: name, description, and the parameters that differ from DEFAULT_KERNEL. */
export function formatVariants(): string {
  const base = kernelVariant(DEFAULT_KERNEL)!;
  const lines: string[] = [];
  for (const v of KERNEL_VARIANTS) {
    lines.push(`${v.name}${v.name === DEFAULT_KERNEL ? ' (default)' : ''}`, `  ${v.description}`);
    const diffs = variantDifferences(v, base);
    if (v.name === DEFAULT_KERNEL) lines.push('');
    else if (diffs.length === 0) lines.push(`  differs from ${DEFAULT_KERNEL}: nothing`, '');
    else {
      lines.push(`  differs from ${DEFAULT_KERNEL}:`);
      for (const d of diffs)
        lines.push(`    ${d.parameter}: ${d.value} (${DEFAULT_KERNEL}: ${d.baseValue}) - ${d.meaning}`);
      lines.push('');
    }
  }
  return `${lines.join('\n')}`;
}

/** Registers `mmulab variants`. */
export function variantsCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('variants')
    .description(`list the kernel variants and how each differs from ${DEFAULT_KERNEL}`)
    .action(() => {
      io.out(formatVariants());
      onExit(0);
    });
}
