/**
 * Models no kernel file: the engine's time accounting.
 * Where simulated time goes: every nanosecond a simulated thread spends is charged to exactly one
 * named category, the way `perf report` attributes samples to symbols. Categories are of a few
 * kinds: CPU work of a kernel path (the thread's current context, `SimThread.ctx`), spinning on a
 * named lock, waiting for a named cache line, memory-bandwidth queueing, sleeping on a named wait,
 * run-queue wait, and the engine's own wake-up and context-switch costs.
 *
 * Categories are registered by name once per engine and indexed by small integers, so a charge is
 * one typed-array add. Lock and line categories are per lock class (as lockdep names them), not
 * per instance; per-instance figures are in the locks' and lines' own statistics.
 */

/** A lock as reports see it: its name, counters per side, and its lock word's line if it has one. */
export interface ReportedLock {
  readonly name: string;
  readonly stats: {
    readAcquired: number;
    readContended: number;
    readWaitNs: number;
    readMaxWaitNs: number;
    writeAcquired: number;
    writeContended: number;
    writeWaitNs: number;
    writeMaxWaitNs: number;
  };
  readonly line: { readonly waitNs: number; readonly maxQueue: number } | null;
}

/** Most categories one engine can register. */
export const MAX_CATEGORIES = 128;

/** What kind of time a category holds (the report groups by it). */
export type CategoryKind = 'cpu' | 'lock' | 'line' | 'bandwidth' | 'wait' | 'sched';

/** The categories every engine has, at fixed indices. */
export const CAT = {
  /** CPU work outside any named path. */
  other: 0,
  /** The guest touching memory (memstress's loop). */
  guest: 1,
  /** VM exit and entry, KVM_RUN's ioctl. */
  vmExit: 2,
  /** Waiting in the run queue for a CPU. */
  runQueue: 3,
  /** A sleeping thread's wake-up latency. */
  wakeup: 4,
  /** Context switches onto a CPU handed over from another thread. */
  contextSwitch: 5,
  /** KVM's fault path (kvm_mmu_page_fault and the TDP MMU's map). */
  kvmFault: 6,
  /** The host's fault path (GUP, handle_mm_fault, the page allocator, the LRU). */
  hostFault: 7,
  /** clear_page on a new page at the CPU's own speed. */
  pageZeroing: 8,
  /** Streaming memory slowed by other CPUs' use of the node's bandwidth. */
  memBandwidth: 9,
  /** KVM's MMU-notifier handlers (aging, invalidation). */
  kvmNotifier: 10,
  /** MGLRU aging (walk_mm, inc_max_seq, folio_update_gen). */
  mglruAging: 11,
  /** MGLRU eviction (evict_folios, unmapping, swap-out). */
  mglruEviction: 12,
  /** /sys/kernel/mm/page_idle/bitmap and the selftest's marking loop. */
  pageIdle: 13,
  /** System calls and file accesses of user space. */
  syscall: 14,
  /** Swap and file I/O. */
  io: 15,
  /** copy_user_highpage of a copy-on-write fault at the CPU's own speed. */
  pageCopy: 16,
} as const;

const FIXED: Array<[string, CategoryKind]> = [
  ['other', 'cpu'],
  ['guest', 'cpu'],
  ['vm exit/entry', 'cpu'],
  ['run queue', 'sched'],
  ['wake-up', 'sched'],
  ['context switch', 'sched'],
  ['kvm fault', 'cpu'],
  ['host fault', 'cpu'],
  ['page zeroing', 'cpu'],
  ['memory bandwidth', 'bandwidth'],
  ['kvm notifier', 'cpu'],
  ['mglru aging', 'cpu'],
  ['mglru eviction', 'cpu'],
  ['page_idle', 'cpu'],
  ['syscall', 'cpu'],
  ['io', 'wait'],
  ['page copy', 'cpu'],
];

/** The categories of one engine: names, kinds and their indices. */
export class TimeCategories {
  readonly names: string[] = [];
  readonly kinds: CategoryKind[] = [];
  private readonly ids = new Map<string, number>();

  constructor() {
    for (const [name, kind] of FIXED) this.id(name, kind);
  }

  /** The index of category `name`, registered with `kind` on first use. */
  id(name: string, kind: CategoryKind): number {
    const key = `${kind}:${name}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const i = this.names.length;
    if (i >= MAX_CATEGORIES) throw new Error(`more than ${MAX_CATEGORIES} time categories`);
    this.names.push(name);
    this.kinds.push(kind);
    this.ids.set(key, i);
    return i;
  }

  /** `lock <class>`: spinning (or sleeping) until a lock of that class is free. */
  lock(cls: string): number {
    return this.id(`lock ${cls}`, 'lock');
  }

  /** `line <name>`: atomics on a shared cache line, waiting for it and pulling it. */
  line(name: string): number {
    return this.id(`line ${name}`, 'line');
  }

  /** `wait <name>`: parked until an event (a count, a grace period). */
  wait(name: string): number {
    return this.id(`wait ${name}`, 'wait');
  }
}
