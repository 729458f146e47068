/**
 * Models no kernel file: the VM the lost-write oracle runs: QEMU with memory-backend-file
 * (share=on) on a regular file of a disk-backed filesystem, mapped MAP_SHARED and given to KVM as
 * memslot 0, one vCPU, the host's flusher and reclaim. The disk holds the file.
 */
import type { Host } from '../../host/host.ts';
import type { Mm } from '../../host/mm.ts';
import { PAGE_SIZE } from '../../host/page-table.ts';
import type { FileMapping, Vma } from '../../host/vma.ts';
import type { AdPolicy } from '../../kvm/ad-policy.ts';
import { Kvm } from '../../kvm/kvm.ts';
import type { KvmVcpu } from '../../kvm/vcpu.ts';
import { kvmEnterGuestPrepare } from '../../kvm/vcpu.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import type { SimThread } from '../../sim/thread.ts';
import { bootHost } from '../../vm/host-builder.ts';

/** Host RAM of the run, in pages: far more than the file, so only reclaim steps drop pages. */
const HOST_PAGES = 4096;

/** The VM of one lost-write run. */
export interface LostWriteVm {
  engine: Engine;
  host: Host;
  mm: Mm;
  kvm: Kvm;
  vcpu: KvmVcpu;
  vma: Vma;
  file: FileMapping;
  /** Guest pages (the file's size) and the gfn of the first (memslot 0 at gpa 0). */
  pages: number;
  baseGfn: number;
}

/** What the VM is built with. */
export interface LostWriteVmSpec {
  policy: AdPolicy;
  writenotify: boolean;
  pages: number;
  tdpMmu: boolean;
  eptAd: boolean;
}

let profile: CostProfile | null = null;

/** An engine for one run (the cost profile is loaded once). */
export function lostWriteEngine(seed: number): Engine {
  profile ??= loadProfile('x86-tdp');
  return new Engine({ profile, seed, cpus: 2 });
}

/**
 * Builds the VM on thread `t`: boots the host, maps the file MAP_SHARED in the VMM, makes it
 * memslot 0, and loads the vCPU's root as it enters the guest. Nothing is faulted in yet.
 */
export function* createLostWriteVm(
  t: SimThread,
  engine: Engine,
  spec: LostWriteVmSpec,
): Generator<void, LostWriteVm, void> {
  const { host, memcg } = bootHost(engine, { hostPages: HOST_PAGES });
  const mm = host.createMm(memcg);
  const kvm = new Kvm(engine, host, mm, {
    aging: 'lockless',
    eptAd: spec.eptAd,
    tdpMmu: spec.tdpMmu,
    adPolicy: spec.policy,
  });
  const bytes = spec.pages * PAGE_SIZE;
  const vma = mm.mmap(bytes, 'file');
  const file = vma.file!;
  file.writenotify = spec.writenotify;
  const r = yield* kvm.setMemoryRegion(t, 0, 0, 0, 0, bytes, vma.start);
  if (r !== 0) throw new Error(`memslot 0: ${r}`);
  const vcpu = kvm.createVcpu();
  vcpu.thread = t;
  kvmEnterGuestPrepare(t, vcpu);
  vcpu.inGuest = true;
  return { engine, host, mm, kvm, vcpu, vma, file, pages: spec.pages, baseGfn: 0 };
}
