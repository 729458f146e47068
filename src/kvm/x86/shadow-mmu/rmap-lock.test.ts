import { describe, expect, it } from 'vitest';
import { zeroProfile } from '../../../sim/profile.ts';
import { runOnVm } from '../../../testing/vm-fixture.ts';
import { KVM_RMAP_LOCKED, rmapDescVal, rmapSpteVal } from './pte-list.ts';
import {
  kvmRmapGet,
  kvmRmapLock,
  kvmRmapLockReadonly,
  kvmRmapUnlock,
  kvmRmapUnlockReadonly,
  RmapLockTimes,
} from './rmap-lock.ts';
import { ShadowMmu } from './shadow-mmu.ts';

/** Line costs with names: a cmpxchg or store on an owned line, and a pull from another CPU. */
const LOCAL = 1;
const PULL = 10;
const profile = zeroProfile({ cacheLineLocalNs: LOCAL, cacheLineTransferNs: PULL, cacheLineRemoteNs: PULL });

describe('the rmap lock (KVM_RMAP_LOCKED)', () => {
  it('an empty rmap is never locked; a non-empty one is locked by cmpxchg and released by a store', () => {
    runOnVm({ profile }, (t, vm) => {
      const mmu = new ShadowMmu(vm.kvm);
      const heads = new Int32Array(16);
      const times = new RmapLockTimes(16);
      const t0 = t.now;
      // Empty: the read (of a line nobody touched) and no lock; unlock_readonly of 0 does nothing.
      expect(kvmRmapLockReadonly(mmu, t, heads, 3, times)).toBe(0);
      kvmRmapUnlockReadonly(mmu, t, heads, 3, 0, times);
      expect([heads[3], t.now - t0, times.lineCpu[0], times.freeAt[3]]).toEqual([0, 0, t.cpu, 0]);
      // Non-empty: the line is this CPU's now, so cmpxchg and release store cost LOCAL each.
      heads[3] = rmapDescVal(5);
      const v = kvmRmapLockReadonly(mmu, t, heads, 3, times);
      expect([v, heads[3], kvmRmapGet(heads, 3), t.now - t0]).toEqual([
        rmapDescVal(5),
        rmapDescVal(5) | KVM_RMAP_LOCKED,
        rmapDescVal(5),
        LOCAL,
      ]);
      expect(() => kvmRmapLockReadonly(mmu, t, heads, 3, times)).toThrow('locked across a yield');
      kvmRmapUnlockReadonly(mmu, t, heads, 3, v, times);
      expect([heads[3], t.now - t0, times.freeAt[3]]).toEqual([rmapDescVal(5), 2 * LOCAL, t.now]);
      expect(mmu.stats.snapshot()).toMatchObject({
        rmapLocks: 1,
        rmapLocksReadonly: 1,
        rmapLocksElided: 1,
        rmapLockWaits: 0,
      });
      return undefined;
    });
  });

  it('spins while another CPU holds the lock, pulling the line before and after', () => {
    runOnVm({ profile, cpus: 2 }, (t, vm) => {
      const mmu = new ShadowMmu(vm.kvm);
      const heads = new Int32Array(16);
      const times = new RmapLockTimes(16);
      heads[9] = rmapSpteVal(700);
      // A holder on the other CPU released head 9 at t0 + 500 and touched its line last.
      const t0 = t.now;
      const other = t.cpu === 0 ? 1 : 0;
      times.freeAt[9] = t0 + 500;
      times.lineCpu[1] = other;
      const lockCat = vm.kvm.engine.categories.lock('kvm_rmap_head');
      const lineCat = vm.kvm.engine.categories.line('kvm_rmap_head');
      const [lock0, line0] = [t.acct[lockCat], t.acct[lineCat]];
      const v = kvmRmapLockReadonly(mmu, t, heads, 9, times);
      // Pull (the first read), spin to the release, pull again (the holder's store took the line),
      // cmpxchg.
      expect(v).toBe(rmapSpteVal(700));
      expect(t.now - t0).toBe(500 + PULL + LOCAL);
      expect([t.acct[lockCat] - lock0, t.acct[lineCat] - line0]).toEqual([500 - PULL, 2 * PULL + LOCAL]);
      kvmRmapUnlockReadonly(mmu, t, heads, 9, v, times);
      expect([heads[9], times.freeAt[9] - t0, times.lineCpu[1]]).toEqual([rmapSpteVal(700), 512, t.cpu]);
      expect(mmu.stats.snapshot()).toMatchObject({
        rmapLockWaits: 1,
        rmapLockWaitNs: 500 - PULL,
        rmapLockMaxWaitNs: 500 - PULL,
      });
      return undefined;
    });
  });

  it('writers need mmu_lock for write on 6.15; before 6.15 they store the head without a lock', () => {
    runOnVm({ profile }, (t, vm) => {
      const mmu = new ShadowMmu(vm.kvm);
      const heads = new Int32Array(8);
      heads[0] = rmapSpteVal(1);
      expect(() => kvmRmapLock(mmu, t, heads, 0, null)).toThrow('kvm_rmap_lock: mmu_lock not held for write');
      vm.kvm.mmuLock.writeLock(t);
      const v = kvmRmapLock(mmu, t, heads, 0, null);
      expect(heads[0]).toBe(v | KVM_RMAP_LOCKED);
      expect(() => kvmRmapUnlock(mmu, t, heads, 0, v | KVM_RMAP_LOCKED, null)).toThrow(
        'new value has KVM_RMAP_LOCKED',
      );
      kvmRmapUnlock(mmu, t, heads, 0, rmapSpteVal(2), null);
      vm.kvm.mmuLock.writeUnlock(t);
      expect([heads[0], mmu.stats.rmapLocks]).toEqual([rmapSpteVal(2), 1]);
      // The read-only unlock checks that the chain did not change under the lock.
      const times = new RmapLockTimes(8);
      const r = kvmRmapLockReadonly(mmu, t, heads, 0, times);
      heads[0] = rmapSpteVal(3) | KVM_RMAP_LOCKED;
      expect(() => kvmRmapUnlockReadonly(mmu, t, heads, 0, r, times)).toThrow('rmap changed under the lock');
      return undefined;
    });
    runOnVm({ profile, aging: 'write-lock' }, (t, vm) => {
      const mmu = new ShadowMmu(vm.kvm);
      const heads = new Int32Array(8);
      heads[0] = rmapSpteVal(1);
      const t0 = t.now;
      const v = kvmRmapLock(mmu, t, heads, 0, null);
      kvmRmapUnlock(mmu, t, heads, 0, 0, null);
      expect([v, heads[0], t.now - t0, mmu.rmapLocking, mmu.stats.rmapLocks]).toEqual([
        rmapSpteVal(1),
        0,
        0,
        false,
        0,
      ]);
      return undefined;
    });
  });
});
