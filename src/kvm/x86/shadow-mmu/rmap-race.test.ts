import { describe, expect, it } from 'vitest';
import { zeroProfile } from '../../../sim/profile.ts';
import type { SimThread } from '../../../sim/thread.ts';
import { runOnVm, testGfn } from '../../../testing/vm-fixture.ts';
import { sptePfn } from '../spte.ts';
import type { KvmMmuPage } from './mmu-page.ts';
import { KVM_RMAP_LOCKED, rmapSpteVal } from './pte-list.ts';
import { ShadowMmu } from './shadow-mmu.ts';

// Named costs; every other term is zero.
const LOCAL = 1; // cmpxchg or store on an owned cache line (mmu_lock, kvm->stat.pages, rmap heads)
const PULL = 10; // pulling a line from the other CPU
const WALK = 100; // one iterator step: a level of direct_map's walk, one rmap head of an aging walk
const AGE = 1000; // aging one SPTE
const ZAP = 10; // zapping one leaf SPTE
const profile = zeroProfile({
  cacheLineLocalNs: LOCAL,
  cacheLineTransferNs: PULL,
  cacheLineRemoteNs: PULL,
  tdpWalkLevelNs: WALK,
  ageSpteNs: AGE,
  zapSpteNs: ZAP,
});
const P1 = 0x1234;
const P2 = 0x5678;

/** The slow path of a 4K write fault for `gfn` → `pfn`: mmu_lock for write around direct_map. */
function faultLocked(t: SimThread, mmu: ShadowMmu, root: KvmMmuPage, gfn: number, pfn: number): void {
  mmu.kvm.mmuLock.writeLock(t);
  mmu.map(t, root, { gfn, pfn, goalLevel: 1, write: true, mapWritable: true });
  mmu.kvm.mmuLock.writeUnlock(t);
}

/** What one thread saw of the gfn's SPTE: [low 12 bits, pfn]. */
function leaf(mmu: ShadowMmu, root: KvmMmuPage, gfn: number): number[] {
  const s = mmu.pool.walk(root.spt, gfn);
  return [mmu.pool.lo[s] & 0xfff, sptePfn(mmu.pool.lo[s], mmu.pool.hi.get(s))];
}

describe('a fault under mmu_lock and a lockless aging pass race on one rmap', () => {
  it('the ager holds the rmap lock first: the fault’s pte_list_remove spins until it is released', () => {
    runOnVm({ profile, cpus: 2 }, function* (t, vm, engine) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      faultLocked(t, mmu, root, g, P1);
      const T = t.now;
      const seen: Record<string, unknown> = {};
      const ager = engine.spawn(
        'ager',
        function* (u) {
          seen.start = u.now - T;
          seen.young = mmu.ageGfnRange(u, 0, g, g + 1, false, true);
          seen.end = u.now - T;
          seen.leaf = leaf(mmu, root, g);
          yield;
        },
        T + 100,
      );
      t.advance(150);
      yield; // the ager, earlier, runs its pass first
      expect(ager.cpu).not.toBe(t.cpu);
      faultLocked(t, mmu, root, g, P2);
      // The ager: pull the head's line from the faulting CPU, cmpxchg, one rmap step, age, unlock.
      expect(seen).toEqual({
        start: 100,
        young: true,
        end: 100 + PULL + LOCAL + WALK + AGE + LOCAL,
        leaf: [0xa37, P1],
      });
      const released = 100 + PULL + LOCAL + WALK + AGE + LOCAL;
      // The fault: mmu_lock, 4 levels, clear the old leaf and count it, then the rmap lock: pull
      // the line, spin until the ager's release, pull it again, cmpxchg, store; then rmap_add
      // into the now empty rmap (lock elided) and unlock mmu_lock.
      const arrives = 150 + LOCAL + 4 * WALK + ZAP + LOCAL + PULL;
      const wait = released - arrives;
      expect(wait).toBe(640);
      expect(t.now - T).toBe(released + PULL + LOCAL + LOCAL + LOCAL + LOCAL);
      expect(t.acct[engine.categories.lock('kvm_rmap_head')]).toBe(wait);
      expect(ager.acct[engine.categories.lock('kvm_rmap_head')]).toBe(0);
      expect(mmu.stats.snapshot()).toMatchObject({ rmapLockWaits: 1, rmapLockWaitNs: wait, rmapLocks: 2 });
      // Both consistent: the ager aged the old leaf; the fault replaced it, young, in the same rmap.
      const slot = kvm.memslots(0).gfnToMemslot(g)!;
      const rm = mmu.rmaps.of(slot);
      const sptep = mmu.pool.walk(root.spt, g);
      expect(leaf(mmu, root, g)).toEqual([0xb37, P2]);
      expect(rm.rmap[0][g - slot.baseGfn]).toBe(rmapSpteVal(sptep));
      expect(rm.rmap[0][g - slot.baseGfn] & KVM_RMAP_LOCKED).toBe(0);
      expect(rm.lockTimes(1).freeAt[g - slot.baseGfn] - T).toBe(released + PULL + LOCAL + LOCAL);
      expect([kvm.stats.sptesAged, kvm.stats.sptesZapped, kvm.mmuLock.stats.writeContended]).toEqual([
        1, 1, 0,
      ]);
    });
  });

  it('the fault holds the rmap lock first: the ager spins, then ages the new leaf', () => {
    runOnVm({ profile, cpus: 2 }, function* (t, vm, engine) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      faultLocked(t, mmu, root, g, P1);
      const T = t.now;
      const seen: Record<string, unknown> = {};
      // The fault takes the rmap lock at 1 + 4 WALK + ZAP + LOCAL (= 412) and releases it at 414.
      const locked = LOCAL + 4 * WALK + ZAP + LOCAL + LOCAL;
      const released = locked + LOCAL;
      const ager = engine.spawn(
        'ager',
        function* (u) {
          seen.young = mmu.ageGfnRange(u, 0, g, g + 1, false, true);
          seen.end = u.now - T;
          yield;
        },
        T + locked - PULL,
      );
      faultLocked(t, mmu, root, g, P2);
      expect(t.now - T).toBe(released + LOCAL + LOCAL);
      yield;
      yield;
      expect(ager.cpu).not.toBe(t.cpu);
      // The ager reads the line (a pull) inside the fault's hold, spins LOCAL until the release,
      // pulls the line back, locks, walks the rmap and ages the fault's new leaf.
      expect(seen).toEqual({ young: true, end: released + PULL + LOCAL + WALK + AGE + LOCAL });
      expect(ager.acct[engine.categories.lock('kvm_rmap_head')]).toBe(LOCAL);
      expect(t.acct[engine.categories.lock('kvm_rmap_head')]).toBe(0);
      expect(leaf(mmu, root, g)).toEqual([0xa37, P2]);
      expect(mmu.stats.snapshot()).toMatchObject({ rmapLockWaits: 1, rmapLockWaitNs: LOCAL });
    });
  });

  it('a zap holds the rmap lock: the ager spins, then finds the rmap purged and ages nothing', () => {
    runOnVm({ profile, cpus: 2 }, function* (t, vm, engine) {
      const kvm = vm.kvm;
      const mmu = new ShadowMmu(kvm);
      const root = mmu.allocRoot(0);
      const g = testGfn(vm, 0);
      faultLocked(t, mmu, root, g, P1);
      const T = t.now;
      const seen: Record<string, unknown> = {};
      // kvm_unmap_gfn_range: mmu_lock, one rmap step, lock (cmpxchg), zap and count, store 0.
      const released = LOCAL + WALK + LOCAL + ZAP + LOCAL + LOCAL;
      engine.spawn(
        'ager',
        function* (u) {
          seen.young = mmu.ageGfnRange(u, 0, g, g + 1, false, true);
          seen.end = u.now - T;
          yield;
        },
        T + 95,
      );
      kvm.mmuLock.writeLock(t);
      expect(mmu.unmapGfnRange(t, 0, g, g + 1)).toBe(true);
      kvm.mmuLock.writeUnlock(t);
      yield;
      yield;
      // Arrives at 95 + PULL = 105, spins until 114, pulls the line back and finds the rmap empty.
      expect(seen).toEqual({ young: false, end: released + PULL });
      expect(mmu.stats.snapshot()).toMatchObject({
        rmapLockWaits: 1,
        rmapLockWaitNs: released - 95 - PULL,
        rmapLocksReadonly: 0,
      });
      expect([kvm.stats.sptesAged, kvm.stats.sptesZapped, leaf(mmu, root, g)[0]]).toEqual([0, 1, 0]);
      const slot = kvm.memslots(0).gfnToMemslot(g)!;
      expect(mmu.rmaps.of(slot).rmap[0][g - slot.baseGfn]).toBe(0);
    });
  });
});
