/**
 * Models no kernel file: a VM whose one memslot is backed by a chosen host memory (anonymous, THP,
 * hugetlb, a MAP_SHARED regular file with or without write notification, a vfio-pci BAR mapped
 * VM_PFNMAP at 4K/2M/1G, VM_MIXEDMAP driver pages, or a driver's non-refcounted pages), for `mmulab faultin` and the reference-count tests: guest accesses go
 * through the real EPT-violation path, host-side zaps through MMU-notifier invalidations.
 */

import { guestAccess } from '../../guest/memstress.ts';
import { type DeviceMapping, levelPages, mmapDevice } from '../../host/device-mem.ts';
import { handleMmFault, VM_FAULT_OK } from '../../host/fault.ts';
import { madviseDontneed } from '../../host/madvise.ts';
import { PAGE_SIZE } from '../../host/page-table.ts';
import type { Vma } from '../../host/vma.ts';
import { type AdPolicy, type AdPolicyName, adPolicy } from '../../kvm/ad-policy.ts';
import type { FaultinWalk } from '../../kvm/kvm.ts';
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import { kvmArchVcpuIoctlRun } from '../../kvm/vcpu-run.ts';
import type { Engine } from '../../sim/engine.ts';
import type { SimThread } from '../../sim/thread.ts';
import { UserError } from '../../sim/user-error.ts';
import { type KvmVm, vmCreate } from '../../vm/vm-builder.ts';

/** The backings `faultin` knows. */
export const FAULTIN_BACKINGS = [
  'anonymous',
  'shmem',
  'file',
  'thp',
  'hugetlb',
  'pfnmap-4k',
  'pfnmap-2m',
  'pfnmap-1g',
  'mixedmap',
  'non-refcounted',
] as const;
export type FaultinBacking = (typeof FAULTIN_BACKINGS)[number];

/** Guest physical address of the memslot: 4 GiB, so that every mapping size can be aligned. */
export const FAULTIN_GPA = 4 * 2 ** 30;
/** Host RAM beyond what the backing needs (64 MiB). */
const HOST_HEADROOM_PAGES = 16384;

/** The backings mapped from a file (page cache, written back to the simulated disk). */
export function isFileBacking(b: FaultinBacking): boolean {
  return b === 'file' || b === 'shmem';
}

/** Looks up a backing name; throws a UserError (one line) for an unknown one. */
export function faultinBacking(name: string): FaultinBacking {
  const b = FAULTIN_BACKINGS.find((x) => x === name);
  if (b === undefined)
    throw new UserError(`unknown backing '${name}' (known: ${FAULTIN_BACKINGS.join(', ')})`);
  return b;
}

/** Looks up a policy name; throws a UserError (one line) for an unknown one. */
export function faultinPolicy(name: string): AdPolicy {
  const p = adPolicy(name);
  if (p === undefined)
    throw new UserError(`unknown variant '${name}' (known: pre-6.13, 6.13, stevens-v11, no-dirty)`);
  return p;
}

/** A VM with one vCPU and one memslot on `backing`. */
export interface FaultinVm extends KvmVm {
  backing: FaultinBacking;
  vma: Vma;
  /** The driver's mapping for the device backings, else null. */
  device: DeviceMapping | null;
  vcpu: KvmVcpu;
  pages: number;
}

/** Host RAM the backing needs, in pages. */
function ramPages(backing: FaultinBacking, bytes: number): number {
  return backing.startsWith('pfnmap') ? 0 : bytes / PAGE_SIZE;
}

/** Creates the VM (not yet the memslot: see `addFaultinSlot`). */
export function createFaultinVm(
  engine: Engine,
  backing: FaultinBacking,
  policy: AdPolicyName,
  bytes: number,
  tdpMmu = true,
  walk: FaultinWalk = 'gup',
): Omit<FaultinVm, 'vma' | 'device' | 'vcpu'> {
  const hostPages = ramPages(backing, bytes) + HOST_HEADROOM_PAGES;
  const vm = vmCreate(engine, {
    hostPages,
    aging: 'lockless',
    eptAd: true,
    tdpMmu,
    adPolicy: faultinPolicy(policy),
    walk,
  });
  return { ...vm, backing, pages: bytes / PAGE_SIZE };
}

/** mmap of the backing in the VMM, memslot 0 at FAULTIN_GPA, and a vCPU. */
export function* addFaultinSlot(
  t: SimThread,
  base: Omit<FaultinVm, 'vma' | 'device' | 'vcpu'>,
): Generator<void, FaultinVm, void> {
  const bytes = base.pages * PAGE_SIZE;
  let device: DeviceMapping | null = null;
  let vma: Vma;
  const b = base.backing;
  if (b === 'anonymous' || b === 'thp' || b === 'hugetlb')
    vma = base.mm.mmap(
      bytes,
      b === 'anonymous' ? 'anonymous' : b === 'thp' ? 'anonymous_thp' : 'anonymous_hugetlb',
    );
  else if (isFileBacking(b)) {
    // QEMU's memory-backend-file,share=on; shmem's mapping has no write notification.
    vma = base.mm.mmap(bytes, 'file');
    vma.file!.writenotify = b === 'file';
  } else {
    const level = b === 'pfnmap-1g' ? 3 : b === 'pfnmap-2m' ? 2 : 1;
    device = mmapDevice(
      base.mm,
      b.startsWith('pfnmap') ? 'pfnmap' : b === 'mixedmap' ? 'mixedmap' : 'non-refcounted',
      bytes,
      level,
    );
    vma = device.vma;
  }
  const r = yield* base.kvm.setMemoryRegion(t, 0, 0, 0, FAULTIN_GPA, bytes, vma.start);
  if (r !== 0) throw new Error(`memslot 0: ${r}`);
  return { ...base, vma, device, vcpu: base.kvm.createVcpu() };
}

/** How the VMM populates the mapping before KVM_RUN: by writing (prealloc) or reading each page. */
export type FaultinPopulate = 'write' | 'read';

/**
 * The VMM populates the whole mapping before KVM_RUN, one fault per host leaf: 'write' is QEMU's
 * prealloc=on (or a touched vfio-pci BAR), so every EPT violation then finds its host entry
 * present and writable; 'read' is a VMM that reads guest memory first, which on a shared file
 * without write notification leaves the PTEs writable and clean.
 */
export function populateMapping(t: SimThread, vm: FaultinVm, how: FaultinPopulate): void {
  const b = vm.backing;
  const step = levelPages(
    b === 'thp' || b === 'hugetlb' || b === 'pfnmap-2m' ? 2 : b === 'pfnmap-1g' ? 3 : 1,
  );
  for (let i = 0; i < vm.pages; i += step) {
    const r = handleMmFault(t, vm.mm, vm.vma.start + i * PAGE_SIZE, how === 'write');
    if (r !== VM_FAULT_OK) throw new Error(`populating page ${i}: VM_FAULT ${r}`);
  }
}

/** gfn of page `i` of the memslot. */
export function faultinGfn(i: number): number {
  return FAULTIN_GPA / PAGE_SIZE + i;
}

/**
 * KVM_RUN with the guest touching pages [first, first + n) once each (every `stride`-th). A write
 * stores `value0 + i` in page i and is reported to `onWrite` once it completed.
 */
export function* touchPages(
  t: SimThread,
  vm: FaultinVm,
  first: number,
  n: number,
  write: boolean,
  stride = 1,
  value0 = 1,
  onWrite: ((page: number, value: number) => void) | null = null,
): Generator<void, void, void> {
  const vcpu = vm.vcpu;
  function* guest(): Generator<void, void, void> {
    for (let i = first; i < first + n; i += stride) {
      yield* guestAccess(t, vcpu, faultinGfn(i), write, value0 + i);
      if (write && onWrite !== null) onWrite(i, value0 + i);
    }
  }
  yield* kvmArchVcpuIoctlRun(t, vcpu, guest(), false);
}

/**
 * The host takes pages [first, first + n) away from the VMM's mapping: madvise(MADV_DONTNEED) for
 * anonymous memory, the driver's unmap_mapping_range for device memory. Either invalidates KVM's
 * SPTEs through the MMU notifier first.
 */
export function hostZap(t: SimThread, vm: FaultinVm, first: number, n: number): void {
  const start = vm.vma.start + first * PAGE_SIZE;
  const end = Math.min(start + n * PAGE_SIZE, vm.vma.end);
  if (vm.device !== null) vm.device.zap(t, start, end);
  else madviseDontneed(t, vm.mm, start, end);
}
