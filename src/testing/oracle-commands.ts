/**
 * Test support: the steps of the MMU correctness oracle, as the VMM and the host would take them:
 * KVM_SET_USER_MEMORY_REGION creating, deleting, moving a memslot or toggling its dirty-log flag
 * (kvm_set_memory_region of virt/kvm/kvm_main.c, each a generation bump), madvise(MADV_DONTNEED)
 * (an MMU-notifier invalidation), the aging notifiers (clear_young, test_young), and
 * kvm_mmu_zap_all_fast (arch/x86/kvm/mmu/mmu.c); guest accesses are run by mmu-oracle.ts.
 */
import fc from 'fast-check';
import { madviseDontneed } from '../host/madvise.ts';
import type { Vma } from '../host/vma.ts';
import type { Kvm } from '../kvm/kvm.ts';
import type { SimThread } from '../sim/thread.ts';
import type { KvmVm } from '../vm/vm-builder.ts';

/** PAGE_SIZE. */
const PAGE_SIZE = 4096;
/** KVM_MEM_LOG_DIRTY_PAGES: toggling it is a KVM_MR_FLAGS_ONLY update (one swap). */
const KVM_MEM_LOG_DIRTY_PAGES = 1;
/** -EEXIST: the new slot would overlap another (the command is then a no-op). */
const EEXIST = -17;
/** Memslots of address space 0 the commands move around. */
export const ORACLE_SLOTS = 3;
/** Pages per memslot. */
export const ORACLE_SLOT_PAGES = 8;
/** Positions a slot can take in the gfn window (slot-sized steps). */
export const ORACLE_POSITIONS = 4;
/** Pages of the gfn window guests access: RAM where a slot is, MMIO elsewhere. */
export const ORACLE_WINDOW_PAGES = ORACLE_POSITIONS * ORACLE_SLOT_PAGES;
/** First gfn of the window. */
export const ORACLE_WINDOW_GFN = 0x100;
/** The gfn of the slot address space 1 keeps (its updates move AS 1's generation). */
const AS1_GFN = 0x800;

/** One step of an interleaving. */
export type OracleCommand =
  | { k: 'access'; vcpu: number; page: number; write: boolean }
  | { k: 'create'; slot: number; pos: number }
  | { k: 'delete'; slot: number }
  | { k: 'move'; slot: number; pos: number }
  | { k: 'churn'; as: number; n: number }
  | { k: 'dontneed'; slot: number; page: number; n: number }
  | { k: 'age'; slot: number; testOnly: boolean }
  | { k: 'zapAllFast' };

/** Guest vCPUs of the oracle's VM. */
export const ORACLE_VCPUS = 2;
/** The most flag toggles one `churn` makes (the -150 start wraps after 75 updates: one churn can wrap). */
export const ORACLE_MAX_CHURN = 75;

const slot = fc.nat(ORACLE_SLOTS - 1);
const pos = fc.nat(ORACLE_POSITIONS - 1);

/** fast-check arbitrary of one command; accesses weigh most. */
export const oracleCommand: fc.Arbitrary<OracleCommand> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('access' as const),
      vcpu: fc.nat(ORACLE_VCPUS - 1),
      page: fc.nat(ORACLE_WINDOW_PAGES - 1),
      write: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('create' as const), slot, pos }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('move' as const), slot, pos }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('churn' as const),
      as: fc.nat(1),
      n: fc.integer({ min: 1, max: ORACLE_MAX_CHURN }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('dontneed' as const),
      slot,
      page: fc.nat(ORACLE_SLOT_PAGES - 1),
      n: fc.integer({ min: 1, max: ORACLE_SLOT_PAGES }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('age' as const), slot, testOnly: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'zapAllFast' as const }) },
);

/**
 * The oracle's VM: `ORACLE_VCPUS` vCPUs, memslots 0..ORACLE_SLOTS-1 of address space 0 (each with
 * its own VMMs mapping; slot 0 starts at position 0, slot 1 at position 2) and slot 0 of address
 * space 1.
 */
export class OracleVm {
  readonly kvm: Kvm;

  private constructor(
    readonly vm: KvmVm,
    /** The VMM mapping behind each slot of address space 0, then the one of address space 1. */
    readonly vmas: Vma[],
  ) {
    this.kvm = vm.kvm;
  }

  /** Builds the vCPUs, the mappings and the first memslots on thread `t`. */
  static *create(t: SimThread, vm: KvmVm): Generator<void, OracleVm, void> {
    const vmas: Vma[] = [];
    for (let i = 0; i <= ORACLE_SLOTS; i++) vmas.push(vm.mm.mmap(ORACLE_SLOT_PAGES * PAGE_SIZE, 'anonymous'));
    for (let i = 0; i < ORACLE_VCPUS; i++) vm.kvm.createVcpu();
    const o = new OracleVm(vm, vmas);
    yield* o.set(t, 0, 0, 0, o.posGfn(0));
    yield* o.set(t, 0, 1, 0, o.posGfn(2));
    yield* o.set(t, 1, 0, 0, AS1_GFN);
    return o;
  }

  /** The gfn of window page `page`. */
  gfn(page: number): number {
    return ORACLE_WINDOW_GFN + page;
  }

  private posGfn(p: number): number {
    return ORACLE_WINDOW_GFN + p * ORACLE_SLOT_PAGES;
  }

  /** KVM_SET_USER_MEMORY_REGION (npages 0 deletes); -EEXIST is accepted, other errors throw. */
  private *set(t: SimThread, as: number, id: number, flags: number, gfn: number, npages = ORACLE_SLOT_PAGES) {
    const vma = this.vmas[as === 0 ? id : ORACLE_SLOTS];
    const r = yield* this.kvm.setMemoryRegion(
      t,
      as,
      id,
      flags,
      gfn * PAGE_SIZE,
      npages * PAGE_SIZE,
      vma.start,
    );
    if (r !== 0 && r !== EEXIST) throw new Error(`KVM_SET_USER_MEMORY_REGION as ${as} slot ${id}: ${r}`);
  }

  /** Runs one non-access command on thread `t`. */
  *run(t: SimThread, c: OracleCommand): Generator<void, void, void> {
    const kvm = this.kvm;
    const find = (as: number, id: number) => kvm.memslots(as).byGfn.find((s) => s.id === id) ?? null;
    switch (c.k) {
      case 'create':
        if (find(0, c.slot) === null) yield* this.set(t, 0, c.slot, 0, this.posGfn(c.pos));
        break;
      case 'delete':
        if (find(0, c.slot) !== null) yield* this.set(t, 0, c.slot, 0, 0, 0);
        break;
      case 'move': {
        const s = find(0, c.slot);
        if (s !== null) yield* this.set(t, 0, c.slot, s.flags, this.posGfn(c.pos));
        break;
      }
      case 'churn':
        for (let i = 0; i < c.n; i++) {
          const s = kvm.memslots(c.as).byGfn[0];
          if (s === undefined) break;
          yield* this.set(t, c.as, s.id, s.flags ^ KVM_MEM_LOG_DIRTY_PAGES, s.baseGfn);
        }
        break;
      case 'dontneed': {
        const start = this.vmas[c.slot].start + c.page * PAGE_SIZE;
        madviseDontneed(t, this.vm.mm, start, Math.min(start + c.n * PAGE_SIZE, this.vmas[c.slot].end));
        break;
      }
      case 'age': {
        const v = this.vmas[c.slot];
        if (c.testOnly) kvm.notifier.testYoung(t, this.vm.mm, v.start);
        else kvm.notifier.clearYoung(t, this.vm.mm, v.start, v.end);
        break;
      }
      case 'zapAllFast':
        yield* kvm.mmu.zapAllFast(t);
        break;
      case 'access':
        throw new Error('OracleVm.run: accesses are run by runInterleaving');
    }
  }
}
