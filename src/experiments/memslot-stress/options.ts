/**
 * Models tools/testing/selftests/kvm/memslot_modification_stress_test.c: main()'s getopt
 * ("hm:d:b:v:oi:") and its defaults, plus the model's own --mmu and --profile, checked before
 * anything is simulated. -m is not taken: x86 has the one guest mode the model simulates.
 */
import { UserError } from '../../sim/user-error.ts';
import { GUEST_PA_BITS, slot0Pages } from '../access-tracking/memstress-vm.ts';
import { X86_MMUS } from '../access-tracking/options.ts';

/** PAGE_SIZE of the host and of the guest mode (PA-bits:ANY, VA-bits:48, 4K pages). */
export const PAGE_SIZE = 4096;
/** DEFAULT_MEMSLOT_MODIFICATION_ITERATIONS. */
export const DEFAULT_MEMSLOT_MODIFICATION_ITERATIONS = 10;
/** DEFAULT_PER_VCPU_MEM_SIZE (memstress.h): 1G. */
export const DEFAULT_PER_VCPU_MEM_SIZE = 1 << 30;
/** DUMMY_MEMSLOT_INDEX: the memslot the main thread adds and deletes. */
export const DUMMY_MEMSLOT_INDEX = 7;

/** The options of one run, as the selftest's test_params and globals hold them. */
export interface MemslotStressOptions {
  /** -v: nr_vcpus. */
  vcpus: number;
  /** -b: guest_percpu_mem_size in bytes. */
  vcpuBytes: number;
  /** -d: delay between iterations of adding and deleting the memslot, in microseconds. */
  delayUs: number;
  /** -i: nr_iterations (each one add and one delete). */
  iterations: number;
  /** -o given: every vCPU accesses the whole region (partition_vcpu_memory_access false). */
  overlap: boolean;
  mmu: (typeof X86_MMUS)[number];
}

/** The defaults of main()'s test_params and globals (nr_vcpus 1, 1G, no delay, 10 iterations). */
export const MEMSLOT_STRESS_DEFAULTS: MemslotStressOptions = {
  vcpus: 1,
  vcpuBytes: DEFAULT_PER_VCPU_MEM_SIZE,
  delayUs: 0,
  iterations: DEFAULT_MEMSLOT_MODIFICATION_ITERATIONS,
  overlap: false,
  mmu: 'tdp',
};

/** A bad option: the CLI prints the message in one line and exits 2. */
export class MemslotStressOptionsError extends UserError {}

/** Whole numbers as atoi_positive / atoi_non_negative accept them. */
function whole(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new MemslotStressOptionsError(
      `${name} must be a whole number ${min === 0 ? '>= 0' : '> 0'}, not '${v}'`,
    );
  return v;
}

/**
 * Checks and completes options. 0 vCPUs or iterations, a negative delay, memory that is not a
 * multiple of PAGE_SIZE, more guest memory than the address space (memstress_create_vm's
 * TEST_ASSERT), or a dummy memslot that would overlap memslot 0: MemslotStressOptionsError.
 */
export function resolveMemslotStressOptions(raw: Partial<MemslotStressOptions>): MemslotStressOptions {
  const o = { ...MEMSLOT_STRESS_DEFAULTS, ...raw };
  whole('Number of vCPUs (-v)', o.vcpus, 1);
  whole('Delay (-d)', o.delayUs, 0);
  whole('Number of iterations (-i)', o.iterations, 1);
  if (!(X86_MMUS as readonly string[]).includes(o.mmu))
    throw new MemslotStressOptionsError(`--mmu must be one of ${X86_MMUS.join(', ')}, not '${o.mmu}'`);
  if (!Number.isSafeInteger(o.vcpuBytes) || o.vcpuBytes <= 0 || o.vcpuBytes % PAGE_SIZE !== 0)
    throw new MemslotStressOptionsError(
      `-b: guest memory size ${o.vcpuBytes} is not host page size aligned (a multiple of ${PAGE_SIZE})`,
    );
  const guestNumPages = (o.vcpus * o.vcpuBytes) / PAGE_SIZE;
  const regionEndGfn = 2 ** (GUEST_PA_BITS - 12);
  if (guestNumPages >= regionEndGfn)
    throw new MemslotStressOptionsError(
      `Requested more guest memory than address space allows: ${guestNumPages} guest pages, max gfn 0x${(regionEndGfn - 1).toString(16)}`,
    );
  // add_remove_memslot puts the dummy slot one page below the test region: it must clear slot 0.
  const dummyGfn = regionEndGfn - guestNumPages - 1 - 1;
  if (dummyGfn < slot0Pages(guestNumPages, o.vcpus))
    throw new MemslotStressOptionsError(
      `the dummy memslot at gfn 0x${dummyGfn.toString(16)} would overlap memslot 0 (guest memory too large)`,
    );
  return o;
}
