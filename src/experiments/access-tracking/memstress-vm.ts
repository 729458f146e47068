/**
 * Models tools/testing/selftests/kvm/lib/memstress.c: memstress_create_vm (the memslots, vCPUs and
 * per-vCPU regions of the memstress guest, on a VM from src/vm/vm-builder.ts).
 */
import { DEFAULT_GUEST_TEST_MEM, type MemstressArgs } from '../../guest/memstress.ts';
import { handleMmFault, VM_FAULT_OK } from '../../host/fault.ts';
import { LRU_LINK_BYTES } from '../../host/lru-list.ts';
import { pcpListRoom } from '../../host/pcp.ts';
import { BYTES_PER_FRAME, CONTENT_BYTES_PER_FRAME } from '../../host/phys-mem.ts';
import type { BackingKind, Vma } from '../../host/vma.ts';
import { SHADOW_MMU_BYTES_PER_GUEST_PAGE } from '../../kvm/x86/shadow-mmu/simulator-bytes.ts';
import { HI_BYTES_PER_SPTE } from '../../kvm/x86/tdp-mmu/spte-hi-words.ts';
import type { Engine } from '../../sim/engine.ts';
import type { SimThread } from '../../sim/thread.ts';
import {
  type KvmVm,
  type VmSpec,
  vmCreate,
  vmUserspaceMemRegionAdd,
  vmVcpuAdd,
} from '../../vm/vm-builder.ts';

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
 * files need), and on the shadow MMU its rmap and shadow-page state (SHADOW_MMU_BYTES_PER_GUEST_PAGE).
 */
export function bytesPerGuestPage(
  backing: BackingKind,
  lruGen = false,
  mmu: 'tdp' | 'shadow' = 'tdp',
): number {
  return (
    (mmu === 'shadow' ? SHADOW_MMU_BYTES_PER_GUEST_PAGE : 0) +
    BYTES_PER_FRAME +
    4 +
    4 +
    HI_BYTES_PER_SPTE +
    (lruGen ? LRU_LINK_BYTES : 0) +
    (backing === 'shmem' ? 4 + CONTENT_BYTES_PER_FRAME : 0)
  );
}

/** Shape of the VM memstress_create_vm builds. */
export interface MemstressVmSpec extends Omit<VmSpec, 'hostPages'> {
  vcpus: number;
  vcpuBytes: number;
  overlap: boolean;
  backing: BackingKind;
  randomAccess?: boolean;
  randomSeed?: number;
  /** Host RAM in pages (default: what the run needs plus headroom, so memory never runs short). */
  hostPages?: number;
}

/** The memstress VM: host, VMM process, VM and files, with the guest's arguments and regions. */
export interface MemstressVm extends KvmVm {
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
  const room = pcpListRoom(cpus, pcpBatch);
  return testPages + slot0Pages(testPages, spec.vcpus) + HOST_HEADROOM_PAGES + room + 1024;
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

/** Pages of memslot 0: DEFAULT_GUEST_PHY_PAGES, the guest page tables and the vCPU stacks. */
export function slot0Pages(testPages: number, vcpus: number): number {
  return SLOT0_BASE_PAGES + guestPtPages(testPages) + STACK_PAGES * vcpus;
}

/** Where memstress_create_vm puts the test region: at the top of guest memory, aligned to the backing page. */
export function memstressTestGpa(testPages: number, backing: BackingKind): number {
  const backingPage = backing === 'anonymous' || backing === 'shmem' ? 4096 : 2 << 20;
  const maxGfn = 2 ** (GUEST_PA_BITS - 12) - 1;
  const gpa = (maxGfn + 1 - testPages - 1) * 4096;
  return Math.floor(gpa / backingPage) * backingPage;
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
  const vm = vmCreate(engine, {
    ...spec,
    hostPages: spec.hostPages ?? hostPagesFor(spec, engine.cpuCount, p.pcpBatch),
  });
  const kvm = vm.kvm;
  const mm = vm.mm;

  const testPages = (spec.vcpus * spec.vcpuBytes) / 4096;
  const s0 = slot0Pages(testPages, spec.vcpus);
  const slot0Vma = yield* vmUserspaceMemRegionAdd(t, vm, 0, 0, s0 * 4096, 'anonymous');

  const gpa = memstressTestGpa(testPages, spec.backing);
  const testVma = yield* vmUserspaceMemRegionAdd(
    t,
    vm,
    MEMSTRESS_MEM_SLOT_INDEX,
    gpa,
    testPages * 4096,
    spec.backing,
  );
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
    vmVcpuAdd(vm);
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
    ...vm,
    args,
    testVma,
    slot0Vma,
    testPages,
    slot0Written: written,
  };
}
