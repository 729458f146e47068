/**
 * Test support: the correctness oracle's invariants over the x86 MMU state of
 * arch/x86/kvm/mmu/mmu.c, tdp_mmu.c and spte.h, checked between steps of a VM (no step of the
 * model is changed; the checker only reads). The shadow MMU's rmap and free checks are in
 * shadow-invariants.ts.
 *
 * - `freed-reachable`: a page-table page reachable from a root (walking present non-leaf SPTEs
 *   from every root a vCPU or the MMU holds) has been freed, or is a freed table that was reused
 *   (its parent link, sp->parent_ptes or the TDP MMU's parent SPTE, does not name the SPTE).
 * - `leaf-without-memslot`: a present leaf under a valid root maps a gfn that no memslot of the
 *   root's address space covers at the current generation (what kvm_arch_flush_shadow_memslot and
 *   kvm_unmap_gfn_range must have zapped).
 * - `mmio-spte-covered`: an MMIO SPTE under a valid root passes check_mmio_spte although a memslot
 *   now covers its gfn: handle_mmio_page_fault would emulate an access that must reach RAM.
 * - `mmio-spte-survived-wrap`: an MMIO SPTE under a valid root carries a generation above the
 *   current one of its address space. The masked generation only grows between wraps, so the SPTE
 *   was made before the last wrap, whose zap (kvm_mmu_invalidate_mmio_sptes) must have dropped
 *   it: left alone it would pass check_mmio_spte again once the generation comes round.
 * - `obsolete-root-loaded`: a vCPU holds an obsolete root (is_obsolete_root) without
 *   KVM_REQ_MMU_FREE_OBSOLETE_ROOTS pending, so it would enter the guest on it.
 */
import type { Kvm } from '../kvm/kvm.ts';
import { KVM_MEMSLOT_INVALID } from '../kvm/memslots.ts';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from '../kvm/vcpu.ts';
import type { MmuRoot } from '../kvm/x86/kvm-mmu.ts';
import { checkMmioSpte, getMmioSpteGeneration, getMmioSpteGfn, isMmioSpte } from '../kvm/x86/mmio-spte.ts';
import { ShadowMmu } from '../kvm/x86/shadow-mmu/shadow-mmu.ts';
import { isLastSpte, isShadowPresent } from '../kvm/x86/spte.ts';
import { pagesPerLevel } from '../kvm/x86/tdp-mmu/spte-pool.ts';
import { TdpMmu } from '../kvm/x86/tdp-mmu/tdp-mmu.ts';

/** The invariants the oracle checks (see the file header; rmap ones in shadow-invariants.ts). */
export type InvariantId =
  | 'freed-reachable'
  | 'leaf-without-memslot'
  | 'mmio-spte-covered'
  | 'mmio-spte-survived-wrap'
  | 'obsolete-root-loaded'
  | 'rmap-missing'
  | 'rmap-stale'
  | 'rmap-locked'
  | 'emulated-covered-gfn'
  | 'ram-without-memslot';

/** One broken invariant: which, and a one-line description of the state that breaks it. */
export interface Violation {
  readonly id: InvariantId;
  readonly detail: string;
}

/** A leaf or MMIO SPTE found by `walkRoots`: its pool index, level, gfn and root. */
export interface WalkedSpte {
  readonly idx: number;
  readonly level: number;
  readonly gfn: number;
  readonly root: MmuRoot;
}

/** What a walk of every root reached. */
export interface RootWalk {
  /** Present leaves under valid roots. */
  leaves: WalkedSpte[];
  /** MMIO SPTEs (is_mmio_spte) under valid roots. */
  mmio: WalkedSpte[];
  /** Tables reached from any root, roots included. */
  tables: Set<number>;
}

/** Every root the MMU or a vCPU holds (TdpMmu.roots, ShadowMmu.roots, vcpu->arch.mmu->root). */
export function allRoots(kvm: Kvm): MmuRoot[] {
  const mmu = kvm.mmu;
  const out = new Set<MmuRoot>();
  if (mmu instanceof TdpMmu || mmu instanceof ShadowMmu) for (const r of mmu.roots) out.add(r);
  for (const v of kvm.vcpus) if (v.root !== null) out.add(v.root);
  return [...out];
}

/** Hex of a gfn, for violation lines. */
function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Whether the child table of non-leaf SPTE `idx` is a live table linked back to `idx`: the shadow
 * MMU's page (sptep_to_sp of the child) has `idx` among its parent_ptes; the TDP MMU's table names
 * `idx` as its parent SPTE. Either way the table's level is one below.
 */
function linkedBack(kvm: Kvm, idx: number, child: number, level: number): boolean {
  const mmu = kvm.mmu;
  if (mmu.pool.level[child] !== level - 1) return false;
  if (mmu instanceof ShadowMmu) {
    const sp = mmu.sps[child];
    return sp !== null && sp !== undefined && mmu.pteLists.toArray(sp.parentPtes).includes(idx);
  }
  return mmu.pool.parent[child] === idx;
}

/**
 * Walks every root down its present non-leaf SPTEs (the for_each_shadow_entry / for_each_tdp_pte
 * view), reporting `freed-reachable` into `out`, and returns the leaves and MMIO SPTEs under valid
 * roots.
 */
export function walkRoots(kvm: Kvm, out: Violation[]): RootWalk {
  const mmu = kvm.mmu;
  const pool = mmu.pool;
  const walk: RootWalk = { leaves: [], mmio: [], tables: new Set() };
  const layout = kvm.mmioGen.layout;
  for (const root of allRoots(kvm)) {
    const valid = !mmu.isObsoleteRoot(root);
    if (pool.level[root.table] === 0) {
      out.push({ id: 'freed-reachable', detail: `root table ${root.table} is freed while held` });
      continue;
    }
    const stack = [root.table];
    while (stack.length > 0) {
      const table = stack.pop()!;
      walk.tables.add(table);
      const level = pool.level[table];
      const span = pagesPerLevel(level);
      for (let idx = table * 512; idx < table * 512 + 512; idx++) {
        const lo = pool.lo[idx];
        const gfn = pool.gfn[table] + (idx - table * 512) * span;
        // An MMIO SPTE first: v4.20's layout puts generation bits where today's present bit is
        // (is_shadow_present_pte then excluded MMIO SPTEs).
        if (isMmioSpte(layout, lo, pool.hi.get(idx))) {
          if (valid) walk.mmio.push({ idx, level, gfn, root });
        } else if (!isShadowPresent(lo)) continue;
        else if (isLastSpte(lo, level)) {
          if (valid) walk.leaves.push({ idx, level, gfn, root });
        } else {
          const child = pool.child(idx);
          if (linkedBack(kvm, idx, child, level)) stack.push(child);
          else
            out.push({
              id: 'freed-reachable',
              detail: `SPTE ${idx} (level ${level}, gfn ${hex(gfn)}) points to table ${child}, which is freed or reused`,
            });
        }
      }
    }
  }
  return walk;
}

/** Leaves under valid roots map gfns that one memslot covers whole (not an INVALID copy). */
export function checkLeaves(kvm: Kvm, walk: RootWalk, out: Violation[]): void {
  for (const { idx, level, gfn, root } of walk.leaves) {
    const slot = kvm.memslots(root.asId).search(gfn);
    const span = pagesPerLevel(level);
    if (slot === null || slot.flags & KVM_MEMSLOT_INVALID || gfn + span > slot.baseGfn + slot.npages)
      out.push({
        id: 'leaf-without-memslot',
        detail: `SPTE ${idx} maps gfn ${hex(gfn)} (level ${level}, as ${root.asId}), no memslot covers it`,
      });
  }
}

/** MMIO SPTEs under valid roots: neither current for a covered gfn nor from before a wrap. */
export function checkMmioSptes(kvm: Kvm, walk: RootWalk, out: Violation[]): void {
  const pool = kvm.mmu.pool;
  const l = kvm.mmioGen.layout;
  for (const { idx, root } of walk.mmio) {
    const lo = pool.lo[idx];
    const hi = pool.hi.get(idx);
    const gfn = getMmioSpteGfn(lo, hi);
    const memslots = kvm.memslots(root.asId);
    const spteGen = getMmioSpteGeneration(l, lo, hi);
    const gen = memslots.generation & l.genMask;
    if (spteGen > gen)
      out.push({
        id: 'mmio-spte-survived-wrap',
        detail: `MMIO SPTE ${idx} for gfn ${hex(gfn)} has generation ${hex(spteGen)} > ${hex(gen)} (as ${root.asId})`,
      });
    else if (checkMmioSpte(l, memslots.generation, false, lo, hi) && memslots.search(gfn) !== null)
      out.push({
        id: 'mmio-spte-covered',
        detail: `MMIO SPTE ${idx} for gfn ${hex(gfn)} is current (${hex(gen)}) but a memslot covers the gfn`,
      });
  }
}

/** No vCPU holds an obsolete root without the request that makes it drop the root before entry. */
export function checkVcpuRoots(kvm: Kvm, out: Violation[]): void {
  for (const v of kvm.vcpus) {
    const root = v.root;
    if (root !== null && kvm.mmu.isObsoleteRoot(root) && !(v.requests & KVM_REQ_MMU_FREE_OBSOLETE_ROOTS))
      out.push({
        id: 'obsolete-root-loaded',
        detail: `vCPU ${v.id} holds obsolete root ${root.table} without KVM_REQ_MMU_FREE_OBSOLETE_ROOTS`,
      });
  }
}
