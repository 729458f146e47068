/** Models tools/testing/selftests/kvm/lib/memstress.c: memstress_create_vm, and the host and KVM it runs on. */
import { Vfs } from '../../fs/vfs.ts';
import { DEFAULT_GUEST_TEST_MEM, type MemstressArgs } from '../../guest/memstress.ts';
import { handleMmFault, VM_FAULT_OK } from '../../host/fault.ts';
import { Host } from '../../host/host.ts';
import { LRU_LINK_BYTES } from '../../host/lru-list.ts';
import type { Mm } from '../../host/mm.ts';
import { Pagemap } from '../../host/pagemap.ts';
import { BYTES_PER_FRAME, CONTENT_BYTES_PER_FRAME } from '../../host/phys-mem.ts';
import type { BackingKind, Vma } from '../../host/vma.ts';
import { type AgingLock, Kvm } from '../../kvm/kvm.ts';
import { HI_BYTES_PER_SPTE } from '../../kvm/x86/tdp-mmu/spte-hi-words.ts';
import { MemoryMaxFile, memoryMaxPath } from '../../reclaim/memory-max.ts';
import { MemoryReclaimFile, memoryReclaimPath } from '../../reclaim/memory-reclaim.ts';
import { LRU_GEN_DEBUGFS, LRU_GEN_FULL_DEBUGFS, LruGenDebugfs } from '../../reclaim/mglru/debugfs.ts';
import { allocSlowpath, Kswapd } from '../../reclaim/mglru/kswapd.ts';
import { LruGen } from '../../reclaim/mglru/lru-gen.ts';
import {
  LRU_GEN_ENABLED,
  LRU_GEN_MIN_TTL_MS,
  LruGenEnabledFile,
  LruGenMinTtlFile,
} from '../../reclaim/mglru/sysfs.ts';
import { PAGE_IDLE_BITMAP, PageIdle } from '../../reclaim/page-idle/page-idle.ts';
import type { Engine } from '../../sim/engine.ts';
import type { SimThread } from '../../sim/thread.ts';
import { DEFAULT_KERNEL, type KernelVariant, kernelVariant } from '../../variants/kernel-variant.ts';

/** Guest physical address bits (x86 host MAXPHYADDR of a typical server part). */
export const GUEST_PA_BITS = 46;
/** MEMSTRESS_MEM_SLOT_INDEX. */
export const MEMSTRESS_MEM_SLOT_INDEX = 1;
/** Pages of memslot 0 besides the guest page tables (DEFAULT_GUEST_PHY_PAGES). */
const SLOT0_BASE_PAGES = 512;
/** Pages of the test binary that kvm_vm_elf_load copies into memslot 0. */
const ELF_PAGES = 256;
/** DEFAULT_STACK_PGS per vCPU. */
const STACK_PAGES = 5;
/** Host memory beyond the guest's: the host's own use and free headroom (64 MiB). */
const HOST_HEADROOM_PAGES = 16384;
/** Fixed simulator memory beyond the per-page state (code, heaps, small tables). */
export const BASE_BYTES = 96 * 1024 * 1024;

/**
 * Bytes of simulated state per guest page: frame state, host PTE, SPTE (low word and palette-coded
 * high word), with MGLRU the frame's LRU link (and for shmem its page cache and the content word
 * files need).
 */
export function bytesPerGuestPage(backing: BackingKind, lruGen = false): number {
  return (
    BYTES_PER_FRAME +
    4 +
    4 +
    HI_BYTES_PER_SPTE +
    (lruGen ? LRU_LINK_BYTES : 0) +
    (backing === 'shmem' ? 4 + CONTENT_BYTES_PER_FRAME : 0)
  );
}

/** Shape of the VM memstress_create_vm builds. */
export interface MemstressVmSpec {
  vcpus: number;
  vcpuBytes: number;
  overlap: boolean;
  backing: BackingKind;
  aging: AgingLock;
  eptAd: boolean;
  randomAccess?: boolean;
  randomSeed?: number;
  /** Run with the multi-gen LRU, the VMM in memcg `memcgName`. */
  lruGen?: boolean;
  /** The kernel variant whose MGLRU design to follow (default: mainline 6.15). */
  kernel?: KernelVariant;
  /** Slots of a swap device (0: none). */
  swapPages?: number;
  /** Host RAM in pages (default: what the run needs plus headroom, so memory never runs short). */
  hostPages?: number;
  /** Run kswapd (with lruGen): global reclaim at the watermarks, and min_ttl's OOM kill. */
  kswapd?: boolean;
  memcgName?: string;
}

/** Host, VMM process, VM and the files the selftest opens. */
export interface MemstressVm {
  host: Host;
  mm: Mm;
  kvm: Kvm;
  vfs: Vfs;
  pageIdle: PageIdle;
  pagemapPath: string;
  args: MemstressArgs;
  testVma: Vma;
  slot0Vma: Vma;
  testPages: number;
  /** Memslot-0 pages the library wrote from the host (binary, guest page tables, stacks). */
  slot0Written: number;
}

/** Host pages the run needs by default (every page it touches, plus headroom). */
export function hostPagesFor(
  spec: Pick<MemstressVmSpec, 'vcpus' | 'vcpuBytes'>,
  cpus: number,
  pcpBatch: number,
): number {
  const testPages = (spec.vcpus * spec.vcpuBytes) / 4096;
  return testPages + slot0Pages(testPages, spec.vcpus) + HOST_HEADROOM_PAGES + cpus * pcpBatch + 1024;
}

/**
 * Host memory split evenly over one NUMA node per socket. Pages are allocated on the faulting CPU's
 * node and fall back to the other nodes when it runs out (a 1-vCPU run spills over).
 */
export function splitNodes(pages: number, sockets: number): number[] {
  const n = Math.max(1, sockets);
  return Array.from({ length: n }, () => Math.ceil(pages / n));
}

/** Guest page-table pages that map the test region with 4 KiB pages (virt_map). */
function guestPtPages(testPages: number): number {
  return Math.ceil(testPages / 512) + Math.ceil(testPages / 512 / 512) + 2;
}

/**
 * Host pages the VMM faults in before any vCPU runs (the ELF, the guest page tables and the stacks
 * it writes into memslot 0) plus the zero page: host RAM below this cannot even create the VM.
 */
export function bootPages(vcpus: number, vcpuBytes: number): number {
  const testPages = (vcpus * vcpuBytes) / 4096;
  return ELF_PAGES + guestPtPages(testPages) + STACK_PAGES * vcpus + 1;
}

function slot0Pages(testPages: number, vcpus: number): number {
  return SLOT0_BASE_PAGES + guestPtPages(testPages) + STACK_PAGES * vcpus;
}

/**
 * memstress_create_vm: memslot 0 at gpa 0, the test region as memslot 1 at the top of guest
 * physical memory (aligned down to the backing page size), vCPUs, and each vCPU's slice of the
 * region (or all of it with overlap). Runs the memslot ioctls on thread `t`.
 */
export function* createMemstressVm(
  t: SimThread,
  engine: Engine,
  spec: MemstressVmSpec,
): Generator<void, MemstressVm, void> {
  const p = engine.profile;
  const host = new Host(engine, {
    nodePages: splitNodes(spec.hostPages ?? hostPagesFor(spec, engine.cpuCount, p.pcpBatch), p.sockets),
    swapPages: spec.swapPages ?? 0,
  });
  const vfs = new Vfs();
  let memcg = host.memcgs.root;
  if (spec.lruGen) {
    const lg = new LruGen(host);
    lg.applyVariant(spec.kernel ?? kernelVariant(DEFAULT_KERNEL)!);
    host.lruGen = lg;
    vfs.register(LRU_GEN_ENABLED, new LruGenEnabledFile(lg));
    vfs.register(LRU_GEN_MIN_TTL_MS, new LruGenMinTtlFile(lg));
    vfs.register(LRU_GEN_DEBUGFS, new LruGenDebugfs(lg));
    vfs.register(LRU_GEN_FULL_DEBUGFS, new LruGenDebugfs(lg, true));
    if (spec.kswapd) {
      const daemons = host.mem.nodes.map((node) => new Kswapd(lg, node));
      for (const k of daemons) engine.spawn(`kswapd${k.node.nid}`, (kt) => k.run(kt), engine.now, k.node.nid);
      host.mem.kswapdWakeup = (wt, nid) => daemons[nid].wakeup(wt);
      lg.kswapd = daemons;
      host.allocSlowpath = (at) => allocSlowpath(at, lg);
    }
    memcg = host.memcgs.create(`/${spec.memcgName ?? 'access_tracking_perf_test'}`, host.memcgs.root);
    for (const m of [host.memcgs.root, memcg])
      vfs.register(memoryReclaimPath(m), new MemoryReclaimFile(lg, m));
    vfs.register(memoryMaxPath(memcg), new MemoryMaxFile(lg, memcg));
  }
  const mm = host.createMm(memcg);
  const pageIdle = new PageIdle(host);
  vfs.register(PAGE_IDLE_BITMAP, pageIdle);
  const pagemapPath = `/proc/${mm.pid}/pagemap`;
  vfs.register(pagemapPath, new Pagemap(mm));
  const kvm = new Kvm(engine, host, mm, { aging: spec.aging, eptAd: spec.eptAd });

  const testPages = (spec.vcpus * spec.vcpuBytes) / 4096;
  const s0 = slot0Pages(testPages, spec.vcpus);
  const slot0Vma = mm.mmap(s0 * 4096, 'anonymous');
  let r = yield* kvm.setMemoryRegion(t, 0, 0, 0, 0, s0 * 4096, slot0Vma.start);
  if (r !== 0) throw new Error(`memslot 0: ${r}`);

  const backingPage = spec.backing === 'anonymous' || spec.backing === 'shmem' ? 4096 : 2 << 20;
  const maxGfn = 2 ** (GUEST_PA_BITS - 12) - 1;
  let gpa = (maxGfn + 1 - testPages - 1) * 4096;
  gpa = Math.floor(gpa / backingPage) * backingPage;
  const testVma = mm.mmap(testPages * 4096, spec.backing);
  r = yield* kvm.setMemoryRegion(t, 0, MEMSTRESS_MEM_SLOT_INDEX, 0, gpa, testPages * 4096, testVma.start);
  if (r !== 0) throw new Error(`memslot ${MEMSTRESS_MEM_SLOT_INDEX}: ${r}`);
  kvm.mmu.pool.reserve(Math.ceil(testPages / 512) + Math.ceil(s0 / 512) + 64);
  // The library writes the test binary, the guest page tables of the test region and the vCPU
  // stacks into memslot 0 from the host: those pages are faulted in by the VMM itself.
  const written = ELF_PAGES + guestPtPages(testPages) + STACK_PAGES * spec.vcpus;
  for (let i = 0; i < written; i++) {
    if (handleMmFault(t, mm, slot0Vma.start + i * 4096, true) !== VM_FAULT_OK)
      throw new Error('slot 0 fault failed');
    if (t.mustSync()) yield;
  }

  const args: MemstressArgs = {
    gpa,
    size: testPages * 4096,
    guestPageSize: 4096,
    writePercent: 100,
    randomAccess: spec.randomAccess ?? false,
    randomSeed: spec.randomSeed ?? 0,
    argsGfn: 0x80,
    vcpuArgs: [],
  };
  for (let i = 0; i < spec.vcpus; i++) {
    kvm.createVcpu();
    args.vcpuArgs.push(
      spec.overlap
        ? { vcpuIdx: i, gva: DEFAULT_GUEST_TEST_MEM, gpa, pages: testPages }
        : {
            vcpuIdx: i,
            gva: DEFAULT_GUEST_TEST_MEM + i * spec.vcpuBytes,
            gpa: gpa + i * spec.vcpuBytes,
            pages: spec.vcpuBytes / 4096,
          },
    );
  }
  return {
    host,
    mm,
    kvm,
    vfs,
    pageIdle,
    pagemapPath,
    args,
    testVma,
    slot0Vma,
    testPages,
    slot0Written: written,
  };
}
