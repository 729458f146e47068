/**
 * Models no kernel file: the text output of `mmulab memslot-modification-stress`: a header, the
 * lines memslot_modification_stress_test prints, in its order, and a summary of simulated figures.
 */
import type { MemslotStressResult } from './run.ts';

const sec = (ns: number) => `${Math.floor(ns / 1e9)}.${String(Math.round(ns % 1e9)).padStart(9, '0')}s`;

/** Header, the selftest's stdout, then the memslot updates, generations and simulated times. */
export function formatMemslotStress(r: MemslotStressResult): string {
  const o = r.options;
  return `${[
    `# mmulab memslot-modification-stress: -v ${o.vcpus} -b ${o.vcpuBytes} -d ${o.delayUs} -i ${o.iterations}${o.overlap ? ' -o' : ''}, --mmu ${o.mmu}; simulated`,
    ...r.stdout,
    `# memslot updates: ${r.memslotUpdates}, generation ${r.generationBefore} -> ${r.generationAfter}, vCPU passes: ${r.vcpuPasses}, EPT violations: ${r.eptViolations}`,
    `# add/delete loop: ${sec(r.churnNs)}, whole run: ${sec(r.simulatedNs)} (simulated)`,
  ].join('\n')}\n`;
}
