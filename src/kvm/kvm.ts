/**
 * Models virt/kvm/kvm_main.c: struct kvm, kvm_set_memory_region, kvm_set_memslot,
 * kvm_swap_active_memslots, kvm_mmu_invalidate_start/range_add/end, kvm_flush_remote_tlbs; and
 * mmu_invalidate_retry_gfn of include/linux/kvm_host.h.
 */

import type { Host } from '../host/host.ts';
import type { Mm } from '../host/mm.ts';
import { mmuNotifierRegister } from '../host/mmu-notifier.ts';
import type { CacheLine } from '../sim/cache-line.ts';
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { flushIpisNs } from '../sim/topology.ts';
import { RcuDomain } from '../sync/rcu.ts';
import { QRwLock } from '../sync/rwlock.ts';
import { WaitCount } from '../sync/wait-count.ts';
import { type AdPolicy, adPolicy, DEFAULT_AD_POLICY } from './ad-policy.ts';
import { FaultinStats } from './faultin-stats.ts';
import { KvmStats } from './kvm-stats.ts';
import {
  kvmMemslotsStartGeneration,
  memslotGenUpdateBegin,
  memslotGenUpdateEnd,
} from './memslot-generation.ts';
import { invalidCopy, KVM_MEM_READONLY, type KvmMemorySlot, KvmMemslots } from './memslots.ts';
import { KvmMmuNotifier } from './mmu-notifier.ts';
import { KVM_REQ_TLB_FLUSH, KvmVcpu } from './vcpu.ts';
import type { X86Mmu } from './x86/kvm-mmu.ts';
import { KvmMmioGen, kvmArchMemslotsUpdated, type MmioGenOptions } from './x86/mmio-gen.ts';
import { kvmMmuCommitMemslotChange } from './x86/shadow-mmu/mmu-pages-limit.ts';
import { ShadowMmu } from './x86/shadow-mmu/shadow-mmu.ts';
import { TdpMmu } from './x86/tdp-mmu/tdp-mmu.ts';

/** How kvm_age_gfn / kvm_test_age_gfn synchronise (CONFIG_KVM_MMU_LOCKLESS_AGING). */
export type AgingLock = 'write-lock' | 'lockless';

/** VM options. */
export interface KvmOptions {
  /** 'write-lock': Linux before 6.15; 'lockless': 6.15 and later on x86. */
  aging: AgingLock;
  /** EPT Accessed/Dirty bits (kvm_intel.enable_ept_ad_bits); off means access tracking by RWX. */
  eptAd: boolean;
  /** Address spaces (2 on x86 with SMM). */
  nrAddressSpaces?: number;
  /** The TDP MMU (kvm.tdp_mmu=1, the default) rather than the shadow MMU (kvm.tdp_mmu=0). */
  tdpMmu?: boolean;
  /** MMIO SPTE layout, memslot generation protocol and start (default: today's, start as_id). */
  mmioGen?: MmioGenOptions;
  /** Accessed/dirty and page-reference policy (ad-policy.ts); default mainline's, '6.13'. */
  adPolicy?: AdPolicy;
  /**
   * KVM_X86_QUIRK_SLOT_ZAP_ALL enabled: deleting or moving a memslot zaps every SPTE
   * (kvm_mmu_zap_all_fast) rather than the slot's (kvm_mmu_zap_memslot). Default false: the model's
   * VMs behave as with the quirk disabled (KVM_CAP_DISABLE_QUIRKS2).
   */
  slotZapAll?: boolean;
  /**
   * How fault-in finds the pfn and the host mapping level: 'gup' (the kernel's: GUP, then
   * host_pfn_mapping_level walks again) or 'converged' (seed 002's proposal: one walk for both).
   */
  walk?: FaultinWalk;
}

/** The fault-in lookups `KvmOptions.walk` selects. */
export type FaultinWalk = 'gup' | 'converged';

/** KVM_MEM_SLOTS_NUM. */
export const KVM_MEM_SLOTS_NUM = 32767;
const EINVAL = -22;
const EEXIST = -17;

/**
 * struct kvm: memslots (two sets per address space with the generation protocol), mmu_lock,
 * kvm->srcu, the MMU-notifier invalidation state, vCPUs and the x86 MMU (TDP or shadow).
 */
export class Kvm {
  readonly stats = new KvmStats();
  /** How pages were faulted in: paths, references, SPTE levels. */
  readonly faultin = new FaultinStats();
  readonly nrAs: number;
  /** mmu_lock: an rwlock on x86. */
  readonly mmuLock: QRwLock;
  readonly srcu: RcuDomain;
  /**
   * The line of kvm->stat.pages[]: kvm_update_page_stats (from handle_changed_spte) does an
   * atomic64_add on it whenever a leaf SPTE appears or goes, from every vCPU that faults.
   */
  readonly statPagesLine: CacheLine;
  /** The x86 MMU, chosen when the VM is created (the kvm.tdp_mmu parameter). */
  readonly mmu: X86Mmu;
  readonly notifier: KvmMmuNotifier;
  readonly vcpus: KvmVcpu[] = [];
  /** MMIO SPTE generations: layout, protocol, wraparound zap strategy and counters. */
  readonly mmioGen: KvmMmioGen;
  /** Which kernel's accessed/dirty and reference rules the VM runs with. */
  readonly adPolicy: AdPolicy;
  /** KvmOptions.walk. */
  readonly walk: FaultinWalk;
  /** __memslots[as][0..1] and the index of the active set. */
  private readonly sets: KvmMemslots[][] = [];
  private readonly activeIdx: number[] = [];
  mmuInvalidateSeq = 0;
  mmuInvalidateInProgress = 0;
  /** mmu_invalidate_range_start/end; -1 is INVALID_GPA. */
  mmuInvalidateRangeStart = -1;
  mmuInvalidateRangeEnd = -1;
  /** mn_active_invalidate_count, waited on by memslot updates. */
  readonly mnActiveInvalidateCount: WaitCount;

  constructor(
    readonly engine: Engine,
    readonly host: Host,
    readonly mm: Mm,
    readonly opts: KvmOptions,
  ) {
    this.nrAs = opts.nrAddressSpaces ?? 2;
    this.walk = opts.walk ?? 'gup';
    this.adPolicy = opts.adPolicy ?? adPolicy(DEFAULT_AD_POLICY)!;
    this.mmuLock = new QRwLock(engine, 'kvm.mmu_lock', false, 'mmu_lock');
    this.statPagesLine = engine.sharedLine('kvm->stat.pages');
    this.srcu = new RcuDomain(engine, 'kvm->srcu', engine.profile.srcuGracePeriodNs, 2);
    this.mnActiveInvalidateCount = new WaitCount(engine, false, 'mn_active_invalidate_count');
    this.mmioGen = new KvmMmioGen(opts.mmioGen);
    this.adPolicy = opts.adPolicy ?? adPolicy(DEFAULT_AD_POLICY)!;
    for (let as = 0; as < this.nrAs; as++) {
      const gen = kvmMemslotsStartGeneration(as, this.mmioGen.protocol, this.mmioGen.start);
      this.sets.push([new KvmMemslots(gen), new KvmMemslots(gen)]);
      this.activeIdx.push(0);
    }
    // kvm_mmu_init_vm: tdp_mmu_enabled decides which MMU maps the VM's memory.
    this.mmu = opts.tdpMmu === false ? new ShadowMmu(this) : new TdpMmu(this);
    this.notifier = new KvmMmuNotifier(this);
    mmuNotifierRegister(mm, this.notifier);
  }

  /** kvm_create_vcpu. */
  createVcpu(): KvmVcpu {
    const v = new KvmVcpu(this, this.vcpus.length);
    this.vcpus.push(v);
    return v;
  }

  /** __kvm_memslots(kvm, as_id): the active set. */
  memslots(as: number): KvmMemslots {
    return this.sets[as][this.activeIdx[as]];
  }

  private inactive(as: number): KvmMemslots {
    return this.sets[as][this.activeIdx[as] ^ 1];
  }

  /**
   * kvm_set_memory_region (caller holds slots_lock): validates, classifies the change and applies it
   * with kvm_set_memslot. Returns 0 or a negative errno.
   */
  *setMemoryRegion(
    t: SimThread,
    as: number,
    id: number,
    flags: number,
    gpa: number,
    size: number,
    hva: number,
  ): Generator<void, number, void> {
    if (size % 4096 !== 0 || gpa % 4096 !== 0 || hva % 4096 !== 0) return EINVAL;
    if (as < 0 || as >= this.nrAs || id < 0 || id >= KVM_MEM_SLOTS_NUM) return EINVAL;
    if (gpa + size < gpa || hva + size < hva) return EINVAL;
    const old = this.memslots(as).byId.get(id) ?? null;
    if (size === 0) {
      if (old === null) return EINVAL;
      yield* this.setMemslot(t, as, old, null);
      return 0;
    }
    const next: KvmMemorySlot = {
      id,
      asId: as,
      baseGfn: gpa / 4096,
      npages: size / 4096,
      userspaceAddr: hva,
      flags,
    };
    if (old !== null) {
      if (old.userspaceAddr !== hva || old.npages !== next.npages) return EINVAL;
      if ((old.flags ^ flags) & KVM_MEM_READONLY) return EINVAL;
      if (old.baseGfn === next.baseGfn && old.flags === flags) return 0;
    }
    if (old === null || old.baseGfn !== next.baseGfn) {
      if (this.memslots(as).overlappingGfn(next.baseGfn, next.npages, id) !== null) return EEXIST;
    }
    if (old === null) {
      // Storage for the SPTEs that can map a new slot with 4 KiB pages (leaf and upper tables), so
      // the pool does not grow by doubling while the guest faults in.
      const pages = next.npages;
      this.mmu.pool.reserve(
        Math.ceil(pages / 512) + Math.ceil(pages / 512 ** 2) + Math.ceil(pages / 512 ** 3) + 1,
      );
    }
    yield* this.setMemslot(t, as, old, next);
    return 0;
  }

  /** kvm_set_memslot: DELETE and MOVE go through an INVALID copy first (two swaps). */
  private *setMemslot(t: SimThread, as: number, old: KvmMemorySlot | null, next: KvmMemorySlot | null) {
    const deleteOrMove = old !== null && (next === null || next.baseGfn !== old.baseGfn);
    let current = old;
    if (deleteOrMove) {
      // kvm_invalidate_memslot: swap in an invalid copy, then kvm_arch_flush_shadow_memslot.
      const inv = invalidCopy(old);
      this.inactive(as).replace(old, inv);
      yield* this.swapActiveMemslots(t, as);
      this.inactive(as).replace(old, inv);
      // kvm_arch_flush_shadow_memslot: kvm_memslot_flush_zap_all decides between the two.
      if (this.opts.slotZapAll === true) yield* this.mmu.zapAllFast(t);
      else this.mmu.flushShadowMemslot(t, old);
      current = inv;
    }
    this.inactive(as).replace(current, next);
    yield* this.swapActiveMemslots(t, as);
    this.inactive(as).replace(current, next);
    // kvm_arch_commit_memory_region: a created or deleted slot resets the shadow MMU's page limit.
    if (this.mmu instanceof ShadowMmu && (old === null || next === null))
      kvmMmuCommitMemslotChange(this.mmu, t);
  }

  /** kvm_swap_active_memslots: the generation protocol (IN_PROGRESS, wait for invalidations, SRCU). */
  private *swapActiveMemslots(t: SimThread, as: number) {
    const active = this.memslots(as);
    const inactive = this.inactive(as);
    const gen = active.generation;
    const protocol = this.mmioGen.protocol;
    inactive.generation = memslotGenUpdateBegin(gen, protocol);
    yield this.mnActiveInvalidateCount.waitZero(t);
    this.activeIdx[as] ^= 1;
    yield this.srcu.synchronize(t);
    const next = memslotGenUpdateEnd(gen, this.nrAs, protocol);
    yield* kvmArchMemslotsUpdated(t, this, next);
    inactive.generation = next;
    const tr = this.engine.trace;
    if (tr !== null) tr.emit(t, 'memslots_swap', { as, generation: inactive.generation });
  }

  /** mmu_invalidate_retry_gfn (caller holds mmu_lock). */
  mmuInvalidateRetryGfn(seq: number, gfn: number): boolean {
    if (this.mmuInvalidateInProgress > 0) {
      if (this.mmuInvalidateRangeStart < 0) return true;
      if (gfn >= this.mmuInvalidateRangeStart && gfn < this.mmuInvalidateRangeEnd) return true;
    }
    return this.mmuInvalidateSeq !== seq;
  }

  /** mmu_invalidate_retry_gfn_unsafe: the same test without the lock (a pre-check only). */
  mmuInvalidateRetryGfnUnsafe(seq: number, gfn: number): boolean {
    return this.mmuInvalidateRetryGfn(seq, gfn);
  }

  /** kvm_mmu_invalidate_start (on_lock of invalidate_range_start). */
  mmuInvalidateStart(): void {
    if (this.mmuInvalidateInProgress++ === 0) {
      this.mmuInvalidateRangeStart = -1;
      this.mmuInvalidateRangeEnd = -1;
    }
  }

  /** kvm_mmu_invalidate_range_add: widens the range to the union. */
  mmuInvalidateRangeAdd(start: number, end: number): void {
    if (this.mmuInvalidateRangeStart < 0) {
      this.mmuInvalidateRangeStart = start;
      this.mmuInvalidateRangeEnd = end;
    } else {
      this.mmuInvalidateRangeStart = Math.min(this.mmuInvalidateRangeStart, start);
      this.mmuInvalidateRangeEnd = Math.max(this.mmuInvalidateRangeEnd, end);
    }
  }

  /** kvm_mmu_invalidate_end: seq++, then in_progress--. */
  mmuInvalidateEnd(): void {
    this.mmuInvalidateSeq++;
    if (--this.mmuInvalidateInProgress < 0) throw new Error('KVM_BUG_ON: mmu_invalidate_in_progress < 0');
  }

  /** kvm_flush_remote_tlbs: kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH), counted. */
  flushRemoteTlbs(t: SimThread): void {
    const ipis = this.makeAllCpusRequest(t, KVM_REQ_TLB_FLUSH, 'kvm_flush_remote_tlbs');
    this.stats.tlbFlushes++;
    this.stats.tlbFlushIpis += ipis;
  }

  /**
   * kvm_make_all_cpus_request: set `req` on every vCPU, send an IPI to each in guest mode (each
   * takes an exit and services it before it enters again) and wait for all acknowledgements.
   * `traceEvent`, if given, is emitted with the number of IPIs. Returns the IPIs sent.
   */
  makeAllCpusRequest(t: SimThread, req: number, traceEvent: 'kvm_flush_remote_tlbs' | null = null): number {
    const p = this.engine.profile;
    const topo = this.engine.topology;
    const here = topo.nodeOf(t.cpu);
    let ipis = 0;
    let remote = 0;
    for (const v of this.vcpus) {
      v.requests |= req;
      if (!v.inGuest || v.thread === null) continue;
      ipis++;
      if (topo.nodeOf(v.thread.cpu) !== here) remote++;
      v.thread.pendingKickNs += p.vmExitNs + p.vmEntryNs;
    }
    const tr = this.engine.trace;
    if (tr !== null && traceEvent !== null) tr.emit(t, traceEvent, { ipis });
    t.advance(flushIpisNs(p, ipis, remote));
    return ipis;
  }
}
