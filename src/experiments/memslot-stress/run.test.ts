import { describe, expect, it } from 'vitest';
import { formatMemslotStress } from './format.ts';
import { resolveMemslotStressOptions } from './options.ts';
import { runMemslotModificationStress } from './run.ts';

const SELFTEST_LINES = [
  'Testing guest mode: PA-bits:ANY, VA-bits:48,  4K pages',
  'guest physical test memory: [0x3fffffdff000, 0x3ffffffff000)',
  'Finished creating vCPUs',
  'Started all vCPUs',
  'All vCPU threads joined',
];

describe('mmulab memslot-modification-stress (memslot_modification_stress_test)', () => {
  for (const [mmu, churn, total] of [
    ['tdp', '0.000346788s', '0.001367575s'],
    ['shadow', '0.000338694s', '0.001382359s'],
  ] as const) {
    it(`-v 2 -b 1M -d 10 -i 3 on the ${mmu} MMU: the selftest's lines in order, 6 updates, generation 4 -> 22`, () => {
      const r = runMemslotModificationStress(
        resolveMemslotStressOptions({ vcpus: 2, vcpuBytes: 1 << 20, delayUs: 10, iterations: 3, mmu }),
      );
      // Each add is one memslot swap and each delete two (the INVALID copy, then the removal); each
      // swap adds nr_address_spaces (2) to the generation: 3 x 3 x 2 = 18 past the boot slots' 4.
      expect([r.memslotUpdates, r.generationBefore, r.generationAfter]).toEqual([6, 4, 22]);
      // The churn ends inside the vCPUs' first pass; each finishes it and stops (2 x 256 test
      // pages faulted, and the memstress_args and other boot-time pages).
      expect([r.vcpuPasses, r.eptViolations]).toEqual([2, 514]);
      expect(formatMemslotStress(r)).toBe(
        [
          `# mmulab memslot-modification-stress: -v 2 -b 1048576 -d 10 -i 3, --mmu ${mmu}; simulated`,
          ...SELFTEST_LINES,
          '# memslot updates: 6, generation 4 -> 22, vCPU passes: 2, EPT violations: 514',
          `# add/delete loop: ${churn}, whole run: ${total} (simulated)`,
          '',
        ].join('\n'),
      );
    });
  }

  it('-d spaces the iterations: 5 iterations at 1000 us take at least 5 ms, and the vCPUs keep passing', () => {
    const r = runMemslotModificationStress(
      resolveMemslotStressOptions({ vcpus: 1, vcpuBytes: 1 << 20, delayUs: 1000, iterations: 5 }),
    );
    expect([r.memslotUpdates, r.generationAfter]).toEqual([10, 4 + 5 * 3 * 2]);
    expect(r.churnNs).toBeGreaterThanOrEqual(5_000_000);
    expect(r.vcpuPasses).toBeGreaterThan(1);
    expect(r.stdout).toEqual([
      SELFTEST_LINES[0],
      'guest physical test memory: [0x3fffffeff000, 0x3ffffffff000)',
      ...SELFTEST_LINES.slice(2),
    ]);
  });

  it('refuses 0 vCPUs, a negative delay and a dummy memslot over memslot 0', () => {
    expect(() => resolveMemslotStressOptions({ vcpus: 0 })).toThrow('Number of vCPUs (-v) must be');
    expect(() => resolveMemslotStressOptions({ delayUs: -1 })).toThrow(
      'Delay (-d) must be a whole number >= 0',
    );
    expect(() => resolveMemslotStressOptions({ vcpuBytes: 2 ** 46 - (1 << 20) })).toThrow(
      'would overlap memslot 0',
    );
  });
});
