/**
 * Models tools/testing/selftests/kvm/lib/kvm_util.c: __vm_create (the VMM process and
 * KVM_CREATE_VM on a booted host), vm_userspace_mem_region_add and vm_vcpu_add; every experiment
 * and test builds its VM with these and runs vCPUs with kvmArchVcpuIoctlRun (kvm/vcpu-run.ts).
 */
import type { Vfs } from '../fs/vfs.ts';
import type { Host } from '../host/host.ts';
import type { Mm } from '../host/mm.ts';
import { Pagemap } from '../host/pagemap.ts';
import type { BackingKind, Vma } from '../host/vma.ts';
import type { AdPolicy } from '../kvm/ad-policy.ts';
import { type AgingLock, type FaultinWalk, Kvm } from '../kvm/kvm.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import type { MmioGenOptions } from '../kvm/x86/mmio-gen.ts';
import type { Kswapd } from '../reclaim/mglru/kswapd.ts';
import type { LruGen } from '../reclaim/mglru/lru-gen.ts';
import type { PageIdle } from '../reclaim/page-idle/page-idle.ts';
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { bootHost, type HostSpec } from './host-builder.ts';

/** The VM's KVM options: how it ages, EPT A/D bits and which x86 MMU it uses. */
export interface VmSpec extends HostSpec {
  aging: AgingLock;
  eptAd: boolean;
  /** The TDP MMU (kvm.tdp_mmu=1, default) or the shadow MMU (false). */
  tdpMmu?: boolean;
  /** MMIO SPTE layout and memslot generation protocol and start (default: today's). */
  mmioGen?: MmioGenOptions;
  /** Accessed/dirty and page-reference policy (default: mainline's). */
  adPolicy?: AdPolicy;
  /** KVM_X86_QUIRK_SLOT_ZAP_ALL (see KvmOptions.slotZapAll; default off). */
  slotZapAll?: boolean;
  /** Fault-in lookup: the kernel's GUP then host_pfn_mapping_level, or the converged walk. */
  walk?: FaultinWalk;
}

/** A VM and everything around it: host, VMM process, KVM and the files a test opens. */
export interface KvmVm {
  host: Host;
  mm: Mm;
  kvm: Kvm;
  vfs: Vfs;
  pageIdle: PageIdle;
  /** /proc/PID/pagemap of the VMM. */
  pagemapPath: string;
  /** The host's multi-gen LRU, null without lruGen. */
  lruGen: LruGen | null;
  /** The nodes' kswapd threads, empty unless kswapd runs. */
  kswapd: Kswapd[];
}

/** __vm_create: boots the host, starts the VMM process (with its pagemap file) and creates the VM. */
export function vmCreate(engine: Engine, spec: VmSpec): KvmVm {
  const { host, vfs, pageIdle, memcg, lruGen, kswapd } = bootHost(engine, spec);
  const mm = host.createMm(memcg);
  const pagemapPath = `/proc/${mm.pid}/pagemap`;
  vfs.register(pagemapPath, new Pagemap(mm));
  const { aging, eptAd, tdpMmu, mmioGen, adPolicy, slotZapAll, walk } = spec;
  const kvm = new Kvm(engine, host, mm, { aging, eptAd, tdpMmu, mmioGen, adPolicy, slotZapAll, walk });
  return { host, mm, kvm, vfs, pageIdle, pagemapPath, lruGen, kswapd };
}

/**
 * vm_userspace_mem_region_add: maps `bytes` of `backing` in the VMM and makes them memslot `slot`
 * of address space 0 at `gpa` (KVM_SET_USER_MEMORY_REGION), on thread `t`. Returns the mapping.
 */
export function* vmUserspaceMemRegionAdd(
  t: SimThread,
  vm: KvmVm,
  slot: number,
  gpa: number,
  bytes: number,
  backing: BackingKind,
): Generator<void, Vma, void> {
  const vma = vm.mm.mmap(bytes, backing);
  const r = yield* vm.kvm.setMemoryRegion(t, 0, slot, 0, gpa, bytes, vma.start);
  if (r !== 0) throw new Error(`memslot ${slot}: ${r}`);
  return vma;
}

/** vm_vcpu_add: the next vCPU. */
export function vmVcpuAdd(vm: KvmVm): KvmVcpu {
  return vm.kvm.createVcpu();
}
