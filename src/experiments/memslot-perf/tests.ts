/**
 * Models tools/testing/selftests/kvm/memslot_perf_test.c: struct sync_area and its handshake
 * (host_perform_sync, guest_perform_sync, guest_should_exit), the guest code of each test
 * (guest_code_test_memslot_{map,unmap,move,rw}), the move tests' prepare step and every host loop
 * (test_memslot_{map,unmap,unmap_chunked,move,rw}_loop). Frames keep one content word, so the values
 * the guest writes at the start of a page are checked (-d) and the RW test's half-page values are not.
 */
import { guestAccess } from '../../guest/memstress.ts';
import { guestMmioAccess } from '../../guest/mmio-access.ts';
import type { Engine } from '../../sim/engine.ts';
import type { SimThread } from '../../sim/thread.ts';
import { WaitCount } from '../../sync/wait-count.ts';
import {
  MEM_TEST_GPA,
  MEM_TEST_MAP_SIZE,
  MEM_TEST_MOVE_GPA_DEST,
  MEM_TEST_MOVE_SIZE,
  MEM_TEST_SIZE,
  MEM_TEST_UNMAP_CHUNK_SIZE,
  MEM_TEST_UNMAP_SIZE,
  PAGE_SIZE,
} from './options.ts';
import {
  hostAccess,
  testMemslotDoUnmap,
  testMemslotMapUnmapCheck,
  type VmData,
  vmGpa2hva,
  vmSlot2gpa,
} from './vm.ts';

/** MEM_TEST_VAL_1 and MEM_TEST_VAL_2, as far as a frame's 32-bit content word holds them. */
export const MEM_TEST_VAL_1 = 0x55667788;
export const MEM_TEST_VAL_2 = 0xddeeff00;

/** struct sync_area: start_flag, exit_flag and sync_flag (as counts of host syncs and guest acks). */
export class SyncArea {
  exitFlag = false;
  /** host_perform_sync calls (each sets sync_flag) and guest_perform_sync calls that cleared it. */
  readonly hostSyncs: WaitCount;
  readonly guestAcks: WaitCount;
  guestSeen = 0;
  moveAreaPtr = 0;
  constructor(engine: Engine) {
    this.hostSyncs = new WaitCount(engine, true, 'sync_flag');
    this.guestAcks = new WaitCount(engine, true, 'sync_flag');
  }
}

/** host_perform_sync: set sync_flag and spin until the guest clears it. */
function* hostPerformSync(t: SimThread, s: SyncArea) {
  s.hostSyncs.add(t, 1);
  yield s.guestAcks.waitFor(t, s.hostSyncs.value);
}

/** guest_perform_sync: spin until sync_flag is set (false once exit_flag is), then clear it. */
function* guestPerformSync(t: SimThread, s: SyncArea): Generator<void, boolean, void> {
  s.guestSeen++;
  if (s.hostSyncs.value < s.guestSeen && !s.exitFlag) yield s.hostSyncs.waitFor(t, s.guestSeen);
  if (s.exitFlag) return false;
  s.guestAcks.add(t, 1);
  return true;
}

/** make_guest_exit: exit_flag, seen by a guest spinning in guest_perform_sync too. */
export function makeGuestExit(t: SimThread, s: SyncArea): void {
  s.exitFlag = true;
  s.hostSyncs.add(t, 2 ** 40);
}

/** Where the guest code stopped for an MMIO exit (it resumes there after KVM_RUN). */
export interface GuestState {
  ptr: number;
  /** The gpa of the last MMIO exit, for check_mmio_access. */
  mmioGpa: number;
}

/** Runs in guest mode until GUEST_DONE (returns true) or an MMIO exit (false). */
export type GuestCode = (
  t: SimThread,
  d: VmData,
  s: SyncArea,
  g: GuestState,
) => Generator<void, boolean, void>;

function* writePages(t: SimThread, d: VmData, from: number, to: number, value: number) {
  for (let gpa = from; gpa < to; gpa += PAGE_SIZE)
    yield* guestAccess(t, d.vcpu, gpa / PAGE_SIZE, true, value);
}

/** guest_code_test_memslot_map: write each half of the 32 MiB area, syncing after each. */
const guestMap: GuestCode = function* (t, d, s) {
  const half = MEM_TEST_GPA + MEM_TEST_MAP_SIZE / 2;
  for (;;) {
    yield* writePages(t, d, MEM_TEST_GPA, half, MEM_TEST_VAL_1);
    if (!(yield* guestPerformSync(t, s))) return true;
    yield* writePages(t, d, half, MEM_TEST_GPA + MEM_TEST_MAP_SIZE, MEM_TEST_VAL_2);
    if (!(yield* guestPerformSync(t, s))) return true;
  }
};

/** guest_code_test_memslot_unmap: one page of each half per sync. */
const guestUnmap: GuestCode = function* (t, d, s) {
  for (;;) {
    yield* guestAccess(t, d.vcpu, MEM_TEST_GPA / PAGE_SIZE, true, MEM_TEST_VAL_1);
    if (!(yield* guestPerformSync(t, s))) return true;
    yield* guestAccess(t, d.vcpu, (MEM_TEST_GPA + MEM_TEST_UNMAP_SIZE / 2) / PAGE_SIZE, true, MEM_TEST_VAL_2);
    if (!(yield* guestPerformSync(t, s))) return true;
  }
};

/** guest_code_test_memslot_move: write the move area until told to exit; a page with no memslot exits as MMIO. */
const guestMove: GuestCode = function* (t, d, s, g) {
  const base = s.moveAreaPtr;
  while (!s.exitFlag) {
    for (; g.ptr < base + MEM_TEST_MOVE_SIZE; g.ptr += PAGE_SIZE) {
      if ((yield* guestMmioAccess(t, d.vcpu, g.ptr / PAGE_SIZE, true, MEM_TEST_VAL_1)) === 'mmio') {
        g.mmioGpa = g.ptr;
        g.ptr += PAGE_SIZE;
        return false;
      }
    }
    g.ptr = base;
  }
  return true;
};

/** guest_code_test_memslot_rw: write every page, sync, read (and zero) every page, sync. */
const guestRw: GuestCode = function* (t, d, s) {
  const end = MEM_TEST_GPA + MEM_TEST_SIZE;
  for (;;) {
    yield* writePages(t, d, MEM_TEST_GPA, end, MEM_TEST_VAL_1);
    if (!(yield* guestPerformSync(t, s))) return true;
    for (let gpa = MEM_TEST_GPA; gpa < end; gpa += PAGE_SIZE) {
      yield* guestAccess(t, d.vcpu, gpa / PAGE_SIZE, false);
      yield* guestAccess(t, d.vcpu, gpa / PAGE_SIZE, true, 0);
    }
    if (!(yield* guestPerformSync(t, s))) return true;
  }
};

/** One iteration of a test's host loop. */
export type HostLoop = (t: SimThread, d: VmData, s: SyncArea, verify: boolean) => Generator<void, void, void>;

/** test_memslot_map_loop. */
const mapLoop: HostLoop = function* (t, d, s, verify) {
  const pages = MEM_TEST_MAP_SIZE / PAGE_SIZE;
  testMemslotDoUnmap(t, d, MEM_TEST_GPA, pages / 2, pages / 2);
  yield* hostPerformSync(t, s);
  if (verify) {
    testMemslotMapUnmapCheck(t, d, MEM_TEST_GPA, 0, MEM_TEST_VAL_1);
    testMemslotMapUnmapCheck(t, d, MEM_TEST_GPA, pages / 2 - 1, MEM_TEST_VAL_1);
  }
  testMemslotDoUnmap(t, d, MEM_TEST_GPA, 0, pages / 2);
  yield* hostPerformSync(t, s);
  if (verify) {
    testMemslotMapUnmapCheck(t, d, MEM_TEST_GPA, pages / 2, MEM_TEST_VAL_2);
    testMemslotMapUnmapCheck(t, d, MEM_TEST_GPA, pages - 1, MEM_TEST_VAL_2);
  }
};

/** test_memslot_unmap_loop_common with `chunk` pages per madvise. */
function unmapLoop(chunk: number): HostLoop {
  return function* (t, d, s, verify) {
    const pages = MEM_TEST_UNMAP_SIZE / PAGE_SIZE;
    yield* hostPerformSync(t, s);
    if (verify) testMemslotMapUnmapCheck(t, d, MEM_TEST_GPA, 0, MEM_TEST_VAL_1);
    for (let ctr = 0; ctr < pages / 2; ctr += chunk) testMemslotDoUnmap(t, d, MEM_TEST_GPA, ctr, chunk);
    yield* hostPerformSync(t, s);
    if (verify) testMemslotMapUnmapCheck(t, d, MEM_TEST_GPA, pages / 2, MEM_TEST_VAL_2);
    for (let ctr = pages / 2; ctr < pages; ctr += chunk) testMemslotDoUnmap(t, d, MEM_TEST_GPA, ctr, chunk);
  };
}

/** test_memslot_move_loop: the last memslot to MEM_TEST_MOVE_GPA_DEST and back. */
const moveLoop: HostLoop = function* (t, d) {
  const src = vmSlot2gpa(d, d.nslots - 1);
  const { hva, rempages } = vmGpa2hva(d, src);
  for (const gpa of [MEM_TEST_MOVE_GPA_DEST, src]) {
    // vm_mem_region_move: KVM_SET_USER_MEMORY_REGION with the new guest_phys_addr.
    t.advance(t.engine.profile.syscallNs);
    const r = yield* d.vm.kvm.setMemoryRegion(t, 0, d.nslots, 0, gpa, rempages * PAGE_SIZE, hva);
    if (r !== 0) throw new Error(`memslot_perf_test: vm_mem_region_move: ${r}`);
  }
};

/** test_memslot_rw_loop: write every page's second half, sync, read back (and zero) every page, sync. */
const rwLoop: HostLoop = function* (t, d, s) {
  const end = MEM_TEST_GPA + MEM_TEST_SIZE;
  for (let gpa = MEM_TEST_GPA; gpa < end; gpa += PAGE_SIZE) hostAccess(t, d, gpa);
  yield* hostPerformSync(t, s);
  for (let gpa = MEM_TEST_GPA; gpa < end; gpa += PAGE_SIZE) hostAccess(t, d, gpa, 0);
  yield* hostPerformSync(t, s);
};

/**
 * test_memslot_move_prepare: the move area straddles the last slot's start (active: half in it,
 * so the guest takes MMIO exits while it is away) or ends there (inactive). False: the last slot
 * is too small.
 */
export function moveAreaPrepare(d: VmData, s: SyncArea, active: boolean): boolean {
  const src = vmSlot2gpa(d, d.nslots - 1);
  if (active && vmGpa2hva(d, src).rempages * PAGE_SIZE < MEM_TEST_MOVE_SIZE / 2) return false;
  s.moveAreaPtr = src - MEM_TEST_MOVE_SIZE / (active ? 2 : 1);
  if (active) {
    d.mmioOk = true;
    d.mmioGpaMin = src;
    d.mmioGpaMax = src + MEM_TEST_MOVE_SIZE / 2 - 1;
  }
  return true;
}

/** The guest code, prepare step and host loop of each entry of TESTS, in its order. */
export const TEST_CODE: readonly { guest: GuestCode; loop: HostLoop; move?: 'active' | 'inactive' }[] = [
  { guest: guestMap, loop: mapLoop },
  { guest: guestUnmap, loop: unmapLoop(1) },
  { guest: guestUnmap, loop: unmapLoop(MEM_TEST_UNMAP_CHUNK_SIZE / PAGE_SIZE) },
  { guest: guestMove, loop: moveLoop, move: 'active' },
  { guest: guestMove, loop: moveLoop, move: 'inactive' },
  { guest: guestRw, loop: rwLoop },
];
