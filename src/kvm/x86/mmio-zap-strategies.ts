/**
 * Models the wraparound zap of kvm_mmu_invalidate_mmio_sptes (arch/x86/kvm/mmu/mmu.c) as the
 * kernels and reviews of seed 001 had it: one variant per strategy, as data, each naming its
 * source. `installMmioZapStrategy` plugs one into a VM (`KvmMmioGen.zap`) and counts what every
 * wrap cost: mmu_lock write-hold time, shadow pages visited, restarts, SPTEs zapped.
 */
import type { SimThread } from '../../sim/thread.ts';
import type { Kvm } from '../kvm.ts';
import { ShadowMmu } from './shadow-mmu/shadow-mmu.ts';
import {
  kvmMmuInvalidateZapAllPages,
  kvmMmuZapAll,
  kvmMmuZapMmioSptes,
  type ListWalkCounters,
} from './shadow-mmu/zap-mmio.ts';

/** One wraparound strategy: its name, where it comes from, and what it runs. */
export interface MmioZapStrategyVariant {
  readonly name: string;
  /** Where it comes from and what it does. */
  readonly source: string;
  /** It has a meaning on the TDP MMU (else it needs the shadow MMU's active_mmu_pages). */
  readonly tdp: boolean;
  /** The zap, run with slots_lock held; `c` counts the list walk (shadow MMU). */
  zap(t: SimThread, kvm: Kvm, c: ListWalkCounters): Generator<void, void, void>;
}

function shadow(kvm: Kvm): ShadowMmu {
  if (!(kvm.mmu instanceof ShadowMmu)) throw new Error('this MMIO zap strategy needs the shadow MMU');
  return kvm.mmu;
}

/** The strategies, by name. */
export const MMIO_ZAP_STRATEGIES: readonly MmioZapStrategyVariant[] = [
  {
    name: 'zap-all-pages',
    source:
      'v4.20 (the fast invalidate of 2013, kvm_mmu_invalidate_zap_all_pages, which the MMIO wrap called until seed 001): a new mmu_valid_gen makes every shadow page obsolete, vCPUs reload their roots, and kvm_zap_obsolete_pages zaps from the oldest page, restarting from the tail after each zap and breaking the lock every BATCH_ZAP_PAGES. Shadow MMU only (it predates the TDP MMU).',
    tdp: false,
    *zap(t, kvm, c) {
      yield* kvmMmuInvalidateZapAllPages(shadow(kvm), t, c);
    },
  },
  {
    name: 'zap-mmio-restart',
    source:
      'Seed 001, "Revert: drop kvm_mmu_zap_mmio_sptes" (Sean Christopherson, January 2019) as posted: walk active_mmu_pages under mmu_lock, zap each mmio_cached page, and restart from the head after every zap ("This is potentially quadratic", Paolo Bonzini). No lock break. Shadow MMU only.',
    tdp: false,
    *zap(t, kvm, c) {
      yield* kvmMmuZapMmioSptes(shadow(kvm), t, true, c);
    },
  },
  {
    name: 'zap-mmio',
    source:
      'Seed 001, the same walk without the restart: Sean asks why it restarts at all, since MMIO SPTEs have no children (he later notes a zapped child could be the next entry, which cannot happen for a leaf page of MMIO SPTEs). One pass over active_mmu_pages, no lock break. Shadow MMU only.',
    tdp: false,
    *zap(t, kvm, c) {
      yield* kvmMmuZapMmioSptes(shadow(kvm), t, false, c);
    },
  },
  {
    name: 'zap-all',
    source:
      'Seed 001, Paolo Bonzini: "I\'d rather have a zap-all instead": kvm_mmu_zap_all walks active_mmu_pages under the write lock and zaps every page, restarting after each cond_resched_rwlock_write lock break. Its TDP MMU half (kvm_tdp_mmu_zap_all) is not modelled: shadow MMU only here.',
    tdp: false,
    *zap(t, kvm, c) {
      yield* kvmMmuZapAll(shadow(kvm), t, c);
    },
  },
  {
    name: 'zap-all-fast',
    source:
      'Today\'s kernel (since v5.3, "KVM: x86/mmu: Use fast invalidate mechanism to zap MMIO sptes"): kvm_mmu_zap_all_fast toggles mmu_valid_gen, invalidates the TDP MMU\'s roots and zaps obsolete shadow pages in batches with lock breaks; on the TDP MMU the roots are zapped under the read lock. Both MMUs.',
    tdp: true,
    *zap(t, kvm, c) {
      const mmu = kvm.mmu;
      const s = mmu instanceof ShadowMmu ? mmu.stats : null;
      const visited = s?.obsoleteVisited ?? 0;
      const restarts = s?.obsoleteRestarts ?? 0;
      yield* mmu.zapAllFast(t);
      if (s === null) return;
      c.pagesVisited += s.obsoleteVisited - visited;
      c.restarts += s.obsoleteRestarts - restarts;
    },
  },
];

/** The strategy called `name`, or undefined. */
export function findMmioZapStrategy(name: string): MmioZapStrategyVariant | undefined {
  return MMIO_ZAP_STRATEGIES.find((s) => s.name === name);
}

/** What one strategy's wraps cost on one VM, summed over its wraps. */
export class MmioZapCounters {
  /** Wraparounds (zaps run). */
  wraps = 0;
  /** mmu_lock held for write during the zaps, in total. */
  writeHoldNs = 0;
  /** Shadow pages the list walks looked at, and their `goto restart`s (lock breaks included). */
  pagesVisited = 0;
  restarts = 0;
  /** Shadow pages zapped, leaf SPTEs zapped (RAM) and MMIO SPTEs cleared. */
  pagesZapped = 0;
  sptesZapped = 0;
  mmioSptesZapped = 0;
  /** Simulated time of each wrap, from its start to the end of the zap. */
  readonly wrapAtNs: number[] = [];
  readonly wrapEndNs: number[] = [];
}

/**
 * Plugs `strategy` into the VM's kvm_mmu_invalidate_mmio_sptes (KvmMmioGen.zap) and returns the
 * counters every wrap adds to. A strategy without a TDP meaning on a TDP MMU VM is an error
 * (callers validate first).
 */
export function installMmioZapStrategy(kvm: Kvm, strategy: MmioZapStrategyVariant): MmioZapCounters {
  if (!strategy.tdp && !(kvm.mmu instanceof ShadowMmu))
    throw new Error(`MMIO zap strategy ${strategy.name} needs the shadow MMU`);
  const c = new MmioZapCounters();
  kvm.mmioGen.zap = function* (t, k) {
    const lock = k.mmuLock;
    const s = k.mmu instanceof ShadowMmu ? k.mmu.stats : null;
    const held = lock.writeHeldNs;
    const zapped = k.stats.sptesZapped;
    const mmio = s?.mmioSptesZapped ?? 0;
    const pages = s?.mmuShadowZapped ?? 0;
    c.wraps++;
    c.wrapAtNs.push(t.now);
    yield* strategy.zap(t, k, c);
    c.wrapEndNs.push(t.now);
    c.writeHoldNs += lock.writeHeldNs - held;
    c.sptesZapped += k.stats.sptesZapped - zapped;
    c.mmioSptesZapped += (s?.mmioSptesZapped ?? 0) - mmio;
    c.pagesZapped += (s?.mmuShadowZapped ?? 0) - pages;
  };
  return c;
}
