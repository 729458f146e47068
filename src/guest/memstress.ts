/**
 * Models tools/testing/selftests/kvm/lib/memstress.c: memstress_guest_code (memstressGuestPass),
 * with guest_random_u32 of lib/test_util.c, and the CPU's EPT walk that raises EPT violations.
 */
import type { KvmVcpu } from '../kvm/vcpu.ts';
import {
  EPT_DONE,
  EPT_SLOW,
  handleEptViolation,
  handleEptViolationNext,
  handleEptViolationStart,
  takeKick,
} from '../kvm/vcpu.ts';
import { kvmTdpPageFaultSlow } from '../kvm/x86/mmu.ts';
import {
  EPT_A,
  EPT_D,
  EPT_R,
  EPT_RWX,
  EPT_W,
  isLastSpte,
  isShadowPresent,
  spteAdEnabled,
  sptePfn,
} from '../kvm/x86/spte.ts';
import { pagesPerLevel } from '../kvm/x86/tdp-mmu/spte-pool.ts';
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';

/** The u64 memstress writes, 0x0123456789ABCDEF; frames keep its low 32 bits. */
export const MEMSTRESS_WRITE_VALUE = 0x89abcdef;

/** Guest virtual address of the test region (DEFAULT_GUEST_TEST_MEM). */
export const DEFAULT_GUEST_TEST_MEM = 0xc0000000;

/** struct memstress_vcpu_args. */
export interface MemstressVcpuArgs {
  vcpuIdx: number;
  gva: number;
  gpa: number;
  pages: number;
}

/** struct memstress_args, as the guest sees it. */
export interface MemstressArgs {
  /** Start of the test region in guest physical memory. */
  gpa: number;
  size: number;
  guestPageSize: number;
  writePercent: number;
  randomAccess: boolean;
  randomSeed: number;
  /** gfn of the page holding memstress_args itself (in memslot 0). */
  argsGfn: number;
  vcpuArgs: MemstressVcpuArgs[];
}

/** guest_random_u32: the Park–Miller generator of the KVM selftests (seed × 48271 mod 2^31-1). */
export function guestRandomU32(state: { seed: number }): number {
  state.seed = (state.seed * 48271) % 2147483647;
  return state.seed;
}

/** Pages between two progress ticks of a guest pass. */
export const PROGRESS_STRIDE = 4096;

/** Guest memory accesses, counted. */
export class GuestStats {
  reads = 0;
  writes = 0;
}

/**
 * One pass of memstress_guest_code, run inside KVM_RUN by the vCPU's thread: read the
 * memstress_args page, then touch every page of the vCPU's region once (in order, or at random),
 * writing with probability write_percent. The CPU walks the EPT and sets Accessed (and Dirty on a
 * write) when A/D bits are on; a missing, access-tracked or read-only SPTE is an EPT violation.
 */
export function* memstressGuestPass(
  t: SimThread,
  vcpu: KvmVcpu,
  args: MemstressArgs,
  rand: { seed: number },
  stats: GuestStats,
  /** Called with PROGRESS_STRIDE after every PROGRESS_STRIDE pages (progress reports; no effect on the run). */
  tick: ((pages: number) => void) | null = null,
): Generator<void, void, void> {
  const va = args.vcpuArgs[vcpu.id];
  const baseGfn = Math.floor(va.gpa / 4096);
  const pagesPerGuestPage = args.guestPageSize / 4096;
  yield* guestAccess(t, vcpu, args.argsGfn, false);
  for (let i = 0; i < va.pages; i++) {
    const page = args.randomAccess ? guestRandomU32(rand) % va.pages : i;
    const write = guestRandomU32(rand) % 100 < args.writePercent;
    const gfn = baseGfn + page * pagesPerGuestPage;
    if (write) stats.writes++;
    else stats.reads++;
    // guestAccess's loop and handleEptViolation's, inline: the engine resumes this generator
    // directly at every sync point of the fault path, and a fault creates no generator.
    for (;;) {
      if (t.now > t.limit) yield;
      const r = cpuAccess(t, vcpu, gfn, write, MEMSTRESS_WRITE_VALUE);
      if (r === ACCESS_DONE) break;
      for (let s = handleEptViolationStart(t, vcpu, gfn, write, r === VIOLATION_PRESENT); s !== EPT_DONE; ) {
        if (s === EPT_SLOW) yield* kvmTdpPageFaultSlow(t, vcpu, vcpu.fault);
        else if (t.now > t.limit) yield;
        s = handleEptViolationNext(t, vcpu);
      }
    }
    if (tick !== null && i % PROGRESS_STRIDE === PROGRESS_STRIDE - 1) tick(PROGRESS_STRIDE);
  }
}

/** `cpuAccess` completed the access. */
export const ACCESS_DONE = 0;
/** `cpuAccess` hit an EPT violation on a missing or access-tracked SPTE (exit qualification: not present). */
export const VIOLATION_NOT_PRESENT = 1;
/** `cpuAccess` hit an EPT violation on a present SPTE that does not allow the access. */
export const VIOLATION_PRESENT = 2;
/** `cpuAccess` hit an EPT misconfiguration: an entry writable but not readable (an MMIO SPTE). */
export const EPT_MISCONFIG = 3;

/**
 * One guest access by the CPU, up to the EPT: takes a pending kick, walks the EPT and, when the leaf
 * allows the access, sets Accessed (and Dirty on a write) if A/D bits are on and stores `value` on a
 * write. Returns ACCESS_DONE, EPT_MISCONFIG, or the kind of EPT violation. An entry writable but not
 * readable is a misconfiguration whatever its other bits hold (KVM's MMIO SPTEs are W+X; v4.20's
 * layout keeps generation bits where today's present bit is), so a write needs R and W. The exit
 * qualification says "present" when the entry grants any of R/W/X; an access-tracked SPTE grants
 * none, so it faults as not present.
 */
export function cpuAccess(t: SimThread, vcpu: KvmVcpu, gfn: number, write: boolean, value: number): number {
  if (t.pendingKickNs > 0) takeKick(t, vcpu);
  const pool = vcpu.kvm.mmu.pool;
  const idx = pool.walk(vcpu.root!.table, gfn);
  const lo = pool.lo[idx];
  const leaf = isShadowPresent(lo) && isLastSpte(lo, pool.walkLevel);
  if (leaf && (write ? (lo & (EPT_R | EPT_W)) === (EPT_R | EPT_W) : lo & EPT_R)) {
    const hi = pool.hi.get(idx);
    if (spteAdEnabled(hi)) pool.lo[idx] = (lo | EPT_A | (write ? EPT_D : 0)) >>> 0;
    if (write) vcpu.kvm.host.mem.data[leafPfn(lo, hi, pool.walkLevel, gfn)] = value;
    t.advanceAs(CAT.guest, t.engine.profile.guestAccessNs);
    return ACCESS_DONE;
  }
  if ((lo & (EPT_R | EPT_W)) === EPT_W) return EPT_MISCONFIG;
  return leaf && (lo & EPT_RWX) !== 0 ? VIOLATION_PRESENT : VIOLATION_NOT_PRESENT;
}

/** The host frame a leaf SPTE maps for `gfn` (adds the offset inside a 2 MiB or 1 GiB leaf). */
function leafPfn(lo: number, hi: number, level: number, gfn: number): number {
  return sptePfn(lo, hi) + (level === 1 ? 0 : gfn % pagesPerLevel(level));
}

/**
 * One guest access (the CPU), taking EPT violations until the translation allows it. A write stores
 * `value` in the page.
 */
export function* guestAccess(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  value = MEMSTRESS_WRITE_VALUE,
): Generator<void, void, void> {
  for (;;) {
    if (t.now > t.limit) yield;
    const r = cpuAccess(t, vcpu, gfn, write, value);
    if (r === ACCESS_DONE) return;
    if (r === EPT_MISCONFIG)
      throw new Error(`guest RAM access to gfn 0x${gfn.toString(16)} met an MMIO SPTE`);
    yield* handleEptViolation(t, vcpu, gfn, write, r === VIOLATION_PRESENT);
  }
}
