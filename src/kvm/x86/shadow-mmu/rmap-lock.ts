/**
 * Models the rmap lock of arch/x86/kvm/mmu/mmu.c (6.15, "Add infrastructure to allow walking
 * rmaps outside of mmu_lock"): KVM_RMAP_LOCKED in kvm_rmap_head.val, __kvm_rmap_lock (elided for
 * an empty rmap; spin while locked, recheck empty, try_cmpxchg_acquire), __kvm_rmap_unlock (a
 * release store), kvm_rmap_lock / kvm_rmap_unlock (mmu_lock held for write), and
 * kvm_rmap_lock_readonly / kvm_rmap_unlock_readonly for walkers without mmu_lock.
 *
 * Timing follows the model of `QRwLock`: a critical section runs in one step of its thread, so the
 * lock bit is set and cleared within that step and each head remembers when it was last released
 * (`RmapLockTimes.freeAt`). An acquirer that arrives earlier spins until then. The heads' cache
 * lines are not `CacheLine`s (one calendar per 8 heads would cost more than the rmaps): each line
 * remembers the CPU that touched it last, an access from another CPU pays the pull
 * (cacheLineTransferNs, cacheLineRemoteNs across sockets), and the cmpxchg and the release store on
 * the pulled line cost cacheLineLocalNs each. Before 6.15 (no rmap lock) writers only store the head.
 */
import type { SimThread } from '../../../sim/thread.ts';
import { KVM_RMAP_LOCKED } from './pte-list.ts';
import type { ShadowMmu } from './shadow-mmu.ts';

/** kvm_rmap_head is one unsigned long: 8 heads share a 64-byte cache line. */
export const RMAP_HEADS_PER_LINE = 8;

/** The lock bookkeeping of one array of rmap heads (one memslot level). */
export class RmapLockTimes {
  /** Per head: when its lock was last released (0: never taken). */
  readonly freeAt: Float64Array;
  /** Per line of RMAP_HEADS_PER_LINE heads: the CPU that touched it last, -1 for none. */
  readonly lineCpu: Int32Array;

  constructor(heads: number) {
    this.freeAt = new Float64Array(heads);
    this.lineCpu = new Int32Array(Math.ceil(heads / RMAP_HEADS_PER_LINE)).fill(-1);
  }

  /** Bytes of this bookkeeping (the kernel needs none beyond the lock bit in each head). */
  get bytes(): number {
    return this.freeAt.byteLength + this.lineCpu.byteLength;
  }
}

/** kvm_rmap_get: the head's value without KVM_RMAP_LOCKED. */
export function kvmRmapGet(heads: Int32Array, i: number): number {
  return heads[i] & ~KVM_RMAP_LOCKED;
}

/** What pulling a line last touched by `prev` costs `cpu`: the same core's caches hold it already. */
function pullNs(mmu: ShadowMmu, prev: number, cpu: number): number {
  const c = mmu.kvm.engine.lineCosts;
  if (prev < 0 || prev === cpu) return 0;
  if (c.coreOf != null && c.coreOf[prev] === c.coreOf[cpu]) return 0;
  if (c.socketOf === null || c.socketOf[prev] === c.socketOf[cpu]) return c.transferNs;
  return c.remoteNs;
}

/** An access to head `i`'s line (a read, or the first step of an RMW); returns the previous CPU. */
function touchLine(mmu: ShadowMmu, t: SimThread, times: RmapLockTimes | null, i: number): number {
  if (times === null) return t.cpu;
  const line = Math.floor(i / RMAP_HEADS_PER_LINE);
  const prev = times.lineCpu[line];
  times.lineCpu[line] = t.cpu;
  t.until(mmu.rmapLineCat, t.now + pullNs(mmu, prev, t.cpu));
  return prev;
}

/** An atomic (cmpxchg) or release store on a line this CPU holds. */
function ownedRmw(mmu: ShadowMmu, t: SimThread): void {
  t.until(mmu.rmapLineCat, t.now + mmu.kvm.engine.lineCosts.localNs);
}

/**
 * __kvm_rmap_lock: reads the head; an empty head is not locked (returns 0). Otherwise spins while
 * another CPU holds the lock (until its release, then reads the line back), rechecks for empty and
 * sets KVM_RMAP_LOCKED with a cmpxchg. Returns the value without the lock bit. `times` is null for
 * a head no lockless walker reaches (a shadow page's parent_ptes): no timing is kept for it.
 */
export function kvmRmapLockRaw(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  times: RmapLockTimes | null,
): number {
  const prev = touchLine(mmu, t, times, i);
  const s = mmu.stats;
  if (heads[i] & KVM_RMAP_LOCKED) throw new Error('kvm_rmap_lock: rmap head locked across a yield');
  if (times !== null && t.now < times.freeAt[i]) {
    // while (old_val & KVM_RMAP_LOCKED) { cpu_relax(); old_val = atomic_long_read(...); }
    const w = times.freeAt[i] - t.now;
    t.until(mmu.rmapLockCat, times.freeAt[i]);
    s.rmapLockWaits++;
    s.rmapLockWaitNs += w;
    if (w > s.rmapLockMaxWaitNs) s.rmapLockMaxWaitNs = w;
    // The holder's release store took the line back: the re-read pulls it again.
    t.until(mmu.rmapLineCat, t.now + pullNs(mmu, prev, t.cpu));
  }
  const old = heads[i];
  if (old === 0) {
    s.rmapLocksElided++;
    return 0;
  }
  ownedRmw(mmu, t);
  heads[i] = old | KVM_RMAP_LOCKED;
  s.rmapLocks++;
  return old;
}

/** __kvm_rmap_unlock: a release store of `val` (which must not carry the lock bit). */
export function kvmRmapUnlockRaw(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  val: number,
  times: RmapLockTimes | null,
): void {
  if (val & KVM_RMAP_LOCKED) throw new Error('kvm_rmap_unlock: new value has KVM_RMAP_LOCKED');
  if (!(heads[i] & KVM_RMAP_LOCKED)) throw new Error('kvm_rmap_unlock: rmap not locked');
  ownedRmw(mmu, t);
  heads[i] = val;
  if (times === null) return;
  if (t.now > times.freeAt[i]) times.freeAt[i] = t.now;
  times.lineCpu[Math.floor(i / RMAP_HEADS_PER_LINE)] = t.cpu;
}

/**
 * kvm_rmap_lock (lockdep: mmu_lock held for write), for writers of the chain: pte_list_add,
 * pte_list_remove, kvm_zap_all_rmap_sptes. Before 6.15 (`mmu.rmapLocking` off) a plain read.
 */
export function kvmRmapLock(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  times: RmapLockTimes | null,
): number {
  if (!mmu.rmapLocking) return heads[i];
  if (mmu.kvm.mmuLock.writer !== t) throw new Error('kvm_rmap_lock: mmu_lock not held for write');
  return kvmRmapLockRaw(mmu, t, heads, i, times);
}

/**
 * kvm_rmap_unlock: stores the new value, releasing the lock. An empty head was never locked (the
 * lock is elided), so storing into it is a plain store. Before 6.15 a plain store.
 */
export function kvmRmapUnlock(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  val: number,
  times: RmapLockTimes | null,
): void {
  if (!mmu.rmapLocking || !(heads[i] & KVM_RMAP_LOCKED)) {
    heads[i] = val;
    return;
  }
  if (mmu.kvm.mmuLock.writer !== t) throw new Error('kvm_rmap_unlock: mmu_lock not held for write');
  kvmRmapUnlockRaw(mmu, t, heads, i, val, times);
}

/**
 * kvm_rmap_lock_readonly: the same lock for a walker without mmu_lock, which must not change the
 * chain (preemption stays disabled while it holds the lock). Read-only lockers serialise too.
 */
export function kvmRmapLockReadonly(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  times: RmapLockTimes,
): number {
  const v = kvmRmapLockRaw(mmu, t, heads, i, times);
  if (v !== 0) mmu.stats.rmapLocksReadonly++;
  return v;
}

/** kvm_rmap_unlock_readonly: restores the value read at lock time; nothing for an empty rmap. */
export function kvmRmapUnlockReadonly(
  mmu: ShadowMmu,
  t: SimThread,
  heads: Int32Array,
  i: number,
  old: number,
  times: RmapLockTimes,
): void {
  if (old === 0) return;
  if (old !== kvmRmapGet(heads, i)) throw new Error('kvm_rmap_unlock_readonly: rmap changed under the lock');
  kvmRmapUnlockRaw(mmu, t, heads, i, old, times);
}
