/**
 * Models tools/testing/selftests/kvm/memslot_perf_test.c: struct vm_data, prepare_vm (memslots
 * 1..nslots over the test memory, timed), vm_gpa2hva, vm_slot2gpa, test_memslot_do_unmap and
 * test_memslot_map_unmap_check. The selftest maps each memslot's memory with its own mmap; the
 * model maps the whole area once and gives each slot its part (the same pages and addresses order).
 */
import { handleMmFault, leafPfn, VM_FAULT_OK } from '../../host/fault.ts';
import { madviseDontneed } from '../../host/madvise.ts';
import { PTE_PRESENT } from '../../host/page-table.ts';
import type { Vma } from '../../host/vma.ts';
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import type { Engine } from '../../sim/engine.ts';
import type { SimThread } from '../../sim/thread.ts';
import { type KvmVm, vmCreate, vmUserspaceMemRegionAdd, vmVcpuAdd } from '../../vm/vm-builder.ts';
import { MEM_GPA, type MemslotPerfOptions, PAGE_SIZE } from './options.ts';

/** DEFAULT_GUEST_PHY_PAGES: memslot 0 (code, stacks, page tables) at gpa 0. */
const SLOT0_PAGES = 512;
/** Host memory beyond the guest's (64 MiB). */
const HOST_HEADROOM_PAGES = 16384;

/** struct vm_data. */
export interface VmData {
  vm: KvmVm;
  vcpu: KvmVcpu;
  nslots: number;
  npages: number;
  pagesPerSlot: number;
  /** The mapping the slots share, and each slot's first hva (hva_slots[]). */
  vma: Vma;
  hvaSlots: number[];
  /** Guest MMIO exits are expected (move active area) within [mmioGpaMin, mmioGpaMax]. */
  mmioOk: boolean;
  mmioGpaMin: number;
  mmioGpaMax: number;
}

/** prepare_vm's outcome: the VM and the slot setup time, or the largest slot count that would fit. */
export type PrepareResult = { data: VmData; slotRuntimeNs: number } | { maxslots: number };

/** get_max_slots (x86: host and guest pages are the same size, so only pages_per_slot counts). */
function getMaxSlots(npages: number, nslots: number): number {
  for (let slots = nslots - 1; slots > 1; slots--) if (Math.floor(npages / slots) > 0) return slots + 1;
  return 0;
}

/**
 * prepare_vm: a VM with one vCPU; memslots 1..nslots of `memSize` (the last takes the remainder),
 * added in a loop whose simulated time is the slot setup time; then each slot's memory zeroed from
 * the host (memset), which faults it in. `print` gets the pr_info_v line.
 */
export function* prepareVm(
  t: SimThread,
  engine: Engine,
  o: MemslotPerfOptions,
  memSize: number,
  print: (line: string) => void,
): Generator<void, PrepareResult, void> {
  const npages = memSize / PAGE_SIZE;
  const nslots = o.nslots;
  const pagesPerSlot = Math.floor(npages / nslots);
  if (pagesPerSlot === 0) return { maxslots: getMaxSlots(npages, nslots) };
  const rempages = npages % nslots;
  const vm = vmCreate(engine, {
    hostPages: npages + SLOT0_PAGES + HOST_HEADROOM_PAGES,
    aging: 'lockless',
    eptAd: true,
    tdpMmu: o.mmu === 'tdp',
    slotZapAll: !o.noSlotZapQuirk,
  });
  if (o.verify) vm.host.mem.trackContent();
  yield* vmUserspaceMemRegionAdd(t, vm, 0, 0, SLOT0_PAGES * PAGE_SIZE, 'anonymous');
  const vcpu = vmVcpuAdd(vm);
  const vma = vm.mm.mmap(memSize, 'anonymous');
  print(`Adding slots 1..${nslots}, each slot with ${pagesPerSlot} pages + ${rempages} extra pages last`);
  const p = engine.profile;
  const hvaSlots: number[] = [];
  const start = t.now;
  let gpa = MEM_GPA;
  for (let slot = 1; slot <= nslots; slot++) {
    const pages = pagesPerSlot + (slot === nslots ? rempages : 0);
    const hva = vma.start + (gpa - MEM_GPA);
    // vm_userspace_mem_region_add: the slot's mmap, then KVM_SET_USER_MEMORY_REGION.
    t.advance(p.syscallNs);
    const r = yield* vm.kvm.setMemoryRegion(t, 0, slot, 0, gpa, pages * PAGE_SIZE, hva);
    if (r !== 0) throw new Error(`memslot_perf_test: KVM_SET_USER_MEMORY_REGION slot ${slot}: ${r}`);
    hvaSlots.push(hva);
    gpa += pages * PAGE_SIZE;
    if (t.mustSync()) yield;
  }
  const slotRuntimeNs = t.now - start;
  // memset(hva_slots[slot - 1], 0, ...): the host touches every page of every slot.
  for (let i = 0; i < npages; i++) {
    if (handleMmFault(t, vm.mm, vma.start + i * PAGE_SIZE, true) !== VM_FAULT_OK)
      throw new Error('memslot_perf_test: memset of the test memory failed');
    if (t.mustSync()) yield;
  }
  const data: VmData = {
    vm,
    vcpu,
    nslots,
    npages,
    pagesPerSlot,
    vma,
    hvaSlots,
    mmioOk: false,
    mmioGpaMin: 0,
    mmioGpaMax: 0,
  };
  return { data, slotRuntimeNs };
}

/** vm_gpa2hva: the hva of `gpa` and the pages left in its slot from there. */
export function vmGpa2hva(d: VmData, gpa: number): { hva: number; rempages: number } {
  if (gpa < MEM_GPA || gpa >= MEM_GPA + d.npages * PAGE_SIZE)
    throw new Error(`memslot_perf_test: gpa 0x${gpa.toString(16)} out of the test memory`);
  const gpage = Math.floor((gpa - MEM_GPA) / PAGE_SIZE);
  const slot = Math.min(Math.floor(gpage / d.pagesPerSlot), d.nslots - 1);
  const slotoffs = gpage - slot * d.pagesPerSlot;
  const slotpages = slot === d.nslots - 1 ? d.npages - slot * d.pagesPerSlot : d.pagesPerSlot;
  return {
    hva: d.hvaSlots[slot] + (gpa - MEM_GPA) - slot * d.pagesPerSlot * PAGE_SIZE,
    rempages: slotpages - slotoffs,
  };
}

/** vm_slot2gpa (slot counted from 0: memslot slot + 1). */
export function vmSlot2gpa(d: VmData, slot: number): number {
  return MEM_GPA + slot * d.pagesPerSlot * PAGE_SIZE;
}

/** test_memslot_do_unmap: madvise(MADV_DONTNEED) over `count` pages from test page `offsp`, slot by slot. */
export function testMemslotDoUnmap(
  t: SimThread,
  d: VmData,
  testGpa: number,
  offsp: number,
  count: number,
): void {
  const p = t.engine.profile;
  let gpa = testGpa + offsp * PAGE_SIZE;
  for (let ctr = 0; ctr < count; ) {
    const { hva, rempages } = vmGpa2hva(d, gpa);
    const n = Math.min(rempages, count - ctr);
    t.advance(p.syscallNs);
    madviseDontneed(t, d.vm.mm, hva, hva + n * PAGE_SIZE);
    ctr += n;
    gpa += n * PAGE_SIZE;
  }
}

/**
 * A host access to the guest's memory at `gpa` through vm_gpa2hva: the translation's cost, a host
 * fault if the page is not mapped, then the frame's content word, read (`value` undefined) or written.
 */
export function hostAccess(t: SimThread, d: VmData, gpa: number, value?: number): number {
  const mm = d.vm.mm;
  const { hva } = vmGpa2hva(d, gpa);
  t.advance(t.engine.profile.selftestPageNs);
  const vpn = Math.floor(hva / PAGE_SIZE);
  let idx = mm.pt.walk(mm.pgd, vpn, 1, false);
  if (idx < 0 || !(mm.pt.entries[idx] & PTE_PRESENT)) {
    if (handleMmFault(t, mm, hva, value !== undefined) !== VM_FAULT_OK)
      throw new Error('memslot_perf_test: host access to guest memory failed');
    idx = mm.pt.walk(mm.pgd, vpn, 1, false);
  }
  const pfn = leafPfn(mm.pt.entries[idx], mm.pt.hitLevel, vpn);
  const mem = d.vm.host.mem;
  if (value !== undefined && pfn < mem.data.length) mem.data[pfn] = value;
  return pfn < mem.data.length ? mem.data[pfn] : 0;
}

/** test_memslot_map_unmap_check (with -d): the guest's value at test page `offsp`, then zeroed. */
export function testMemslotMapUnmapCheck(
  t: SimThread,
  d: VmData,
  testGpa: number,
  offsp: number,
  valexp: number,
): void {
  const gpa = testGpa + offsp * PAGE_SIZE;
  const v = hostAccess(t, d, gpa);
  if (v !== valexp)
    throw new Error(
      `Guest written values should read back correctly before unmap (${v} vs ${valexp} @ ${gpa.toString(16)})`,
    );
  hostAccess(t, d, gpa, 0);
}
