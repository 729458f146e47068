/** Models no kernel file: the sizes a run can simulate (host page tables, swap PTEs, host CPUs, boot memory), checked up front. */
// the model of arch/x86/include/asm/pgtable_types.h (a host PTE's pfn field) and from the memory
// the simulator needs per page.
import { PAGE_SIZE, PTE_MAX_PFN } from '../../host/page-table.ts';
import { FIRST_NODE_PFN } from '../../host/phys-mem.ts';
import type { BackingKind } from '../../host/vma.ts';
import type { CostProfile } from '../../sim/profile.ts';
import { profileCpus } from '../../sim/topology.ts';
import { splitNodes } from '../../vm/host-builder.ts';
import { BASE_BYTES, bootPages, bytesPerGuestPage, hostPagesFor } from './memstress-vm.ts';
import { OptionsError } from './options.ts';

/** Bytes of simulator state per swap slot (its content word and shadow entry). */
const BYTES_PER_SWAP_SLOT = 12;

/** The sizes of a run that decide whether it can be simulated. */
export interface RunSize {
  vcpus: number;
  vcpuBytes: number;
  backing: string;
  /** MGLRU on (each frame gets an LRU link). */
  lruGen: boolean;
  hostMemoryBytes?: number;
  swapBytes?: number;
  hostCpus?: number;
  /** The x86 MMU (the shadow MMU keeps rmaps and shadow pages too); default tdp. */
  mmu?: string;
  /** Refuse runs whose simulated state would exceed this many bytes (e.g. this machine's RAM). */
  memoryLimitBytes?: number;
}

/**
 * Throws OptionsError, before anything is simulated, for a run the model cannot hold: host memory
 * too small to create the VM, more host frames or swap slots than a host PTE can address, or more
 * simulator state than `memoryLimitBytes`. The message states the largest guest memory that fits.
 */
export function checkRunSize(o: RunSize, profile: CostProfile): void {
  const swapSlots = (o.swapBytes ?? 0) / PAGE_SIZE;
  const cpus = o.hostCpus ?? profileCpus(profile);
  if (cpus <= o.vcpus)
    throw new OptionsError(
      `hostCpus: ${o.vcpus} vCPU(s) need at least ${o.vcpus + 1} host CPUs (one per vCPU and one for the selftest's main thread); the model does not oversubscribe CPUs, and ${o.hostCpus === undefined ? `profile ${profile.name} has` : '--host-cpus gives'} ${cpus}`,
    );
  if (o.hostMemoryBytes !== undefined) {
    const min = bootPages(o.vcpus, o.vcpuBytes);
    if (o.hostMemoryBytes / PAGE_SIZE < min)
      throw new OptionsError(
        `hostMemoryBytes: ${kib(o.hostMemoryBytes)} of host memory cannot boot the VM; it needs at least ${kib(min * PAGE_SIZE)} (the pages the selftest writes before its vCPUs run)`,
      );
    if (hostFrames(o.hostMemoryBytes / PAGE_SIZE, profile) > PTE_MAX_PFN)
      throw new OptionsError(
        `hostMemoryBytes: ${gib(o.hostMemoryBytes)} of host memory is more than a host PTE can address; at most ${gib(maxHostPages(profile) * PAGE_SIZE)} fits`,
      );
  }
  if (swapSlots > PTE_MAX_PFN)
    throw new OptionsError(
      `swapBytes: ${gib(o.swapBytes ?? 0)} of swap is more than a swap PTE can address; at most ${gib(PTE_MAX_PFN * PAGE_SIZE)} fits`,
    );
  const fits = (testPages: number) => fitsGuest(o, profile, testPages, swapSlots);
  const testPages = (o.vcpus * o.vcpuBytes) / PAGE_SIZE;
  if (fits(testPages) === null) return;
  let lo = 0;
  let hi = testPages;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid) === null) lo = mid;
    else hi = mid - 1;
  }
  const most = fits(lo) === null ? `; at most ${gib(lo * PAGE_SIZE)} fits` : '';
  throw new OptionsError(`${gib(testPages * PAGE_SIZE)} of guest memory (-v x -b) ${fits(testPages)}${most}`);
}

/** Null if a test region of `testPages` fits, else why not. */
function fitsGuest(o: RunSize, profile: CostProfile, testPages: number, swapSlots: number): string | null {
  const hostPages = o.hostMemoryBytes === undefined ? 0 : o.hostMemoryBytes / PAGE_SIZE;
  if (o.hostMemoryBytes === undefined) {
    const cpus = o.hostCpus ?? profileCpus(profile);
    const spec = { vcpus: o.vcpus, vcpuBytes: (testPages * PAGE_SIZE) / o.vcpus };
    const pages = hostPagesFor(spec, cpus, profile.pcpBatch);
    if (hostFrames(pages, profile) > PTE_MAX_PFN)
      return `needs more host memory than a host PTE can address (${gib(PTE_MAX_PFN * PAGE_SIZE)} of frames)`;
  }
  if (o.memoryLimitBytes !== undefined) {
    const per = bytesPerGuestPage(o.backing as BackingKind, o.lruGen, o.mmu === 'shadow' ? 'shadow' : 'tdp');
    const need = BASE_BYTES + Math.max(testPages, hostPages) * per + swapSlots * BYTES_PER_SWAP_SLOT;
    if (need > o.memoryLimitBytes)
      return `needs ${gib(need)} of simulator memory here, over the ${gib(o.memoryLimitBytes)} limit`;
  }
  return null;
}

/** The frame number past the host's last frame: what the host PTEs must address. */
function hostFrames(pages: number, profile: CostProfile): number {
  return FIRST_NODE_PFN + splitNodes(pages, profile.sockets).reduce((a, b) => a + b, 0);
}

function maxHostPages(profile: CostProfile): number {
  const n = Math.max(1, profile.sockets);
  return Math.floor((PTE_MAX_PFN - FIRST_NODE_PFN) / n) * n;
}

/** Bytes as GiB with two decimals, rounded down (so a size it states does fit). */
function gib(bytes: number): string {
  return `${(Math.floor((bytes / 2 ** 30) * 100) / 100).toFixed(2)} GiB`;
}

function kib(bytes: number): string {
  return `${Math.ceil(bytes / 1024)}K`;
}
