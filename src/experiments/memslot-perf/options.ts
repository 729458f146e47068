/**
 * Models tools/testing/selftests/kvm/memslot_perf_test.c: its sizes (MEM_SIZE, MEM_TEST_*), the
 * tests[] table, parse_args (getopt "hvdqs:f:e:l:r:") with its defaults and checks, and the memslot
 * count KVM_CAP_NR_MEMSLOTS gives on x86; plus the model's own --mmu. Checked before simulating.
 */
import { UserError } from '../../sim/user-error.ts';
import { X86_MMUS } from '../access-tracking/options.ts';

/** PAGE_SIZE of host and guest (x86: 4 KiB). */
export const PAGE_SIZE = 4096;
const SZ_64K = 64 << 10;
/** MEM_EXTRA_SIZE: the sync area page(s) before the test area. */
export const MEM_EXTRA_SIZE = SZ_64K;
/** MEM_SIZE: 512 MiB of test area plus MEM_EXTRA_SIZE. */
export const MEM_SIZE = (512 << 20) + MEM_EXTRA_SIZE;
/** MEM_GPA (SZ_256M): where memslot 1 starts; MEM_SYNC_GPA is the same address. */
export const MEM_GPA = 256 << 20;
/** MEM_TEST_GPA and MEM_TEST_SIZE. */
export const MEM_TEST_GPA = MEM_GPA + MEM_EXTRA_SIZE;
export const MEM_TEST_SIZE = MEM_SIZE - MEM_EXTRA_SIZE;
/** MEM_SIZE_MAP and MEM_TEST_MAP_SIZE: the map test's 32 MiB. */
export const MEM_SIZE_MAP = (32 << 20) + MEM_EXTRA_SIZE;
export const MEM_TEST_MAP_SIZE = MEM_SIZE_MAP - MEM_EXTRA_SIZE;
/** MEM_TEST_UNMAP_SIZE (128 MiB) and MEM_TEST_UNMAP_CHUNK_SIZE (2 MiB, like a huge page). */
export const MEM_TEST_UNMAP_SIZE = 128 << 20;
export const MEM_TEST_UNMAP_CHUNK_SIZE = 2 << 20;
/** MEM_TEST_MOVE_SIZE (3 * SZ_64K) and MEM_TEST_MOVE_GPA_DEST. */
export const MEM_TEST_MOVE_SIZE = 3 * SZ_64K;
export const MEM_TEST_MOVE_GPA_DEST = MEM_GPA + MEM_SIZE;
/** KVM_CAP_NR_MEMSLOTS on x86: KVM_USER_MEM_SLOTS (KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS). */
export const KVM_USER_MEM_SLOTS = 32764;

/** The tests[] table: name, memory (0: MEM_SIZE) and which guest code and host loop run. */
export const TESTS = [
  { name: 'map', memSize: MEM_SIZE_MAP },
  { name: 'unmap', memSize: MEM_TEST_UNMAP_SIZE + MEM_EXTRA_SIZE },
  { name: 'unmap chunked', memSize: MEM_TEST_UNMAP_SIZE + MEM_EXTRA_SIZE },
  { name: 'move active area', memSize: 0 },
  { name: 'move inactive area', memSize: 0 },
  { name: 'RW', memSize: 0 },
] as const;
/** NTESTS. */
export const NTESTS = TESTS.length;

/** struct test_args plus the globals the flags set. */
export interface MemslotPerfOptions {
  /** -f and -e: first and last test (indexes into TESTS). */
  tfirst: number;
  tlast: number;
  /** Memslots besides slot 0 (parse_args' targs->nslots after the cap: -s N gives min(N, max) - 1). */
  nslots: number;
  /** -l: test length in (simulated) seconds. */
  seconds: number;
  /** -r: runs per test. */
  runs: number;
  /** -v: verbose (pr_info_v lines). */
  verbose: boolean;
  /** -d: map_unmap_verify. */
  verify: boolean;
  /** -q: disable_slot_zap_quirk (KVM_X86_QUIRK_SLOT_ZAP_ALL off: a move zaps only the slot). */
  noSlotZapQuirk: boolean;
  mmu: (typeof X86_MMUS)[number];
}

/** A bad option: the CLI prints the message in one line and exits 2. */
export class MemslotPerfOptionsError extends UserError {}

/** The flags as typed (the CLI's parsed values; -s is the cap as given, -1 for none). */
export interface MemslotPerfRawOptions {
  tfirst?: number;
  tlast?: number;
  slots?: number;
  seconds?: number;
  runs?: number;
  verbose?: boolean;
  verify?: boolean;
  noSlotZapQuirk?: boolean;
  mmu?: string;
}

function whole(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new MemslotPerfOptionsError(
      `${what} must be a whole number ${min === 0 ? '>= 0' : '> 0'}, not '${v}'`,
    );
  return v;
}

/**
 * parse_args: targs defaults {0, NTESTS - 1, -1, 5, 1}; -s must be > 1 or -1; -e below NTESTS; -f
 * not after -e; then the cap: nslots = min(cap, KVM_CAP_NR_MEMSLOTS) - 1 (slot 0 is reserved).
 * Each message is the selftest's, in one line.
 */
export function resolveMemslotPerfOptions(raw: MemslotPerfRawOptions): MemslotPerfOptions {
  const tfirst = whole('First test (-f)', raw.tfirst ?? 0, 0);
  const tlast = whole('Last test (-e)', raw.tlast ?? NTESTS - 1, 0);
  if (tlast >= NTESTS)
    throw new MemslotPerfOptionsError(`Last test to run has to be non-negative and less than ${NTESTS}`);
  if (tfirst > tlast)
    throw new MemslotPerfOptionsError('First test to run cannot be greater than the last test to run');
  const cap = raw.slots ?? -1;
  if (!Number.isSafeInteger(cap) || (cap <= 1 && cap !== -1))
    throw new MemslotPerfOptionsError('Slot count cap must be larger than 1 or -1 for no cap');
  const mmu = raw.mmu ?? 'tdp';
  if (!(X86_MMUS as readonly string[]).includes(mmu))
    throw new MemslotPerfOptionsError(`--mmu must be one of ${X86_MMUS.join(', ')}, not '${mmu}'`);
  return {
    tfirst,
    tlast,
    nslots: (cap === -1 ? KVM_USER_MEM_SLOTS : Math.min(cap, KVM_USER_MEM_SLOTS)) - 1,
    seconds: whole('Test length (-l)', raw.seconds ?? 5, 0),
    runs: whole('Runs per test (-r)', raw.runs ?? 1, 1),
    verbose: raw.verbose ?? false,
    verify: raw.verify ?? false,
    noSlotZapQuirk: raw.noSlotZapQuirk ?? false,
    mmu: mmu as MemslotPerfOptions['mmu'],
  };
}
