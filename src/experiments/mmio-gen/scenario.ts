/**
 * Models no kernel file: an mmio-gen scenario (`--scenario file.yaml|file.json`): the memslots the
 * VMM adds next to the memstress VM's own (RAM that stays, and MMIO/BAR windows it toggles, as QEMU
 * does with a PCI BAR or the VGA window), optionally the toggle rate and the strategies. Every
 * memslot is checked before anything is simulated: page alignment, free slot ids, guest physical
 * address bits, and no two memslots overlapping (KVM_SET_USER_MEMORY_REGION would fail with EEXIST).
 */
import { z } from 'zod';
import { KVM_MEM_SLOTS_NUM } from '../../kvm/kvm.ts';
import { MMIO_ZAP_STRATEGIES } from '../../kvm/x86/mmio-zap-strategies.ts';
import { readDataFile } from '../../sim/data-file.ts';
import { UserError } from '../../sim/user-error.ts';
import {
  GUEST_PA_BITS,
  MEMSTRESS_MEM_SLOT_INDEX,
  memstressTestGpa,
  slot0Pages,
} from '../access-tracking/memstress-vm.ts';

const PAGE_SIZE = 4096;

/** One memslot of a scenario. */
export interface ScenarioMemslot {
  slot: number;
  gpa: number;
  size: number;
  /** The VMM deletes and re-adds it (a BAR or VGA window); false: RAM that stays. */
  toggle: boolean;
}

/** A scenario: its memslots, and the rate and strategies it asks for (null: the command line's). */
export interface MmioGenScenario {
  memslots: readonly ScenarioMemslot[];
  rate: number | null;
  strategies: readonly string[] | null;
}

/** A bad scenario: the CLI prints the message in one line and exits 2. */
export class MmioGenScenarioError extends UserError {}

/** A guest physical address or size: a whole number, or a "0x" hex string (JSON has no hex numbers). */
const address = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/, 'expected a whole number or a 0x hex string')
    .transform((s) => Number.parseInt(s, 16)),
]);

const strategyName = z.enum(MMIO_ZAP_STRATEGIES.map((s) => s.name) as [string, ...string[]]);

const scenarioFile = z.strictObject({
  /** Memslot updates per simulated second. */
  rate: z.number().positive().optional(),
  /** One strategy name or a list. */
  strategy: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(strategyName).min(1)).optional(),
  memslots: z
    .array(
      z.strictObject({
        slot: z
          .number()
          .int()
          .min(0)
          .max(KVM_MEM_SLOTS_NUM - 1),
        gpa: address,
        size: address,
        toggle: z.boolean().default(false),
      }),
    )
    .min(1),
});

/** The window of mmio-gen without a scenario: QEMU std-vga's framebuffer BAR as memslot 10. */
export const DEFAULT_SCENARIO: MmioGenScenario = {
  memslots: [{ slot: 10, gpa: 0xfd000000, size: 128 << 10, toggle: true }],
  rate: null,
  strategies: null,
};

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Checks a scenario's memslots against each other and against the memstress VM's memslots 0 and 1
 * (for `vcpus` x `vcpuBytes` of RAM). Throws MmioGenScenarioError naming the first problem.
 */
export function checkScenarioMemslots(
  where: string,
  s: MmioGenScenario,
  vcpus: number,
  vcpuBytes: number,
): void {
  const testPages = (vcpus * vcpuBytes) / PAGE_SIZE;
  const fixed = [
    { slot: 0, gpa: 0, size: slot0Pages(testPages, vcpus) * PAGE_SIZE, toggle: false },
    {
      slot: MEMSTRESS_MEM_SLOT_INDEX,
      gpa: memstressTestGpa(testPages, 'anonymous'),
      size: testPages * PAGE_SIZE,
      toggle: false,
    },
  ];
  const limit = 2 ** GUEST_PA_BITS;
  const seen: ScenarioMemslot[] = [...fixed];
  for (const m of s.memslots) {
    if (m.gpa % PAGE_SIZE !== 0 || m.size % PAGE_SIZE !== 0 || m.size === 0)
      throw new MmioGenScenarioError(
        `${where}: memslot ${m.slot}: gpa ${hex(m.gpa)} and size ${hex(m.size)} must be multiples of 4096, size > 0`,
      );
    if (m.gpa + m.size > limit)
      throw new MmioGenScenarioError(
        `${where}: memslot ${m.slot} ends at ${hex(m.gpa + m.size)}, beyond the guest's ${GUEST_PA_BITS} physical address bits`,
      );
    for (const o of seen) {
      const memstress = fixed.includes(o) ? " (the memstress VM's)" : '';
      if (o.slot === m.slot)
        throw new MmioGenScenarioError(`${where}: memslot ${m.slot} is given twice${memstress}`);
      if (m.gpa < o.gpa + o.size && o.gpa < m.gpa + m.size)
        throw new MmioGenScenarioError(
          `${where}: memslots ${o.slot}${memstress} [${hex(o.gpa)}, ${hex(o.gpa + o.size)}) and ${m.slot} [${hex(m.gpa)}, ${hex(m.gpa + m.size)}) overlap`,
        );
    }
    seen.push(m);
  }
  if (!s.memslots.some((m) => m.toggle))
    throw new MmioGenScenarioError(
      `${where}: no memslot has toggle: true, so nothing changes the generation`,
    );
}

/** Reads a scenario (YAML, or JSON when the name ends in .json); errors name the file, line and field. */
export function loadMmioGenScenario(path: string): MmioGenScenario {
  const f = readDataFile(
    path,
    path.endsWith('.json') ? 'json' : 'yaml',
    scenarioFile,
    (m) => new MmioGenScenarioError(`--scenario: ${m}`),
  );
  return {
    memslots: f.memslots,
    rate: f.rate ?? null,
    strategies: f.strategy ?? null,
  };
}
