import { describe, expect, it } from 'vitest';
import type { MemstressVm } from '../experiments/access-tracking/memstress-vm.ts';
import {
  FOLL_HONOR_NUMA_FAULT,
  FOLL_HWPOISON,
  FOLL_INTERRUPTIBLE,
  FOLL_NOWAIT,
  FOLL_WRITE,
  followPteLockless,
  getUserPagesUnlocked,
} from '../host/gup.ts';
import { VM_PFNMAP } from '../host/vma.ts';
import type { SimThread } from '../sim/thread.ts';
import { runOnVm, testGfn } from '../testing/vm-fixture.ts';
import { type FaultinPfn, kvmFaultinPfn } from './follow-pfn.ts';
import { hvaToPfnRemapped, NO_PAGE } from './hva-to-pfn.ts';
import {
  KVM_PFN_ERR_FAULT,
  KVM_PFN_ERR_HWPOISON,
  KVM_PFN_ERR_NEEDS_IO,
  KVM_PFN_ERR_RO_FAULT,
  KVM_PFN_ERR_SIGPENDING,
  KVM_PFN_NOSLOT,
} from './kvm-pfn.ts';
import { gfnToHvaMemslot, KVM_MEM_READONLY, KVM_MEMSLOT_INVALID, type KvmMemorySlot } from './memslots.ts';

/** Runs `body` on the VM's main thread with the test slot and a fresh result. */
function onSlot(body: (t: SimThread, vm: MemstressVm, slot: KvmMemorySlot, out: FaultinPfn) => void): void {
  runOnVm({}, (t, vm) => {
    const slot = vm.kvm.memslots(0).gfnToMemslot(testGfn(vm, 0))!;
    body(t, vm, slot, { pfn: 0, writable: true, refcountedPage: 12345, level: 0 });
    return undefined;
  });
}

describe('kvm_follow_pfn', () => {
  it('a write fault faults the page in writable and reports the page it got', () => {
    onSlot((t, vm, slot, out) => {
      const gfn = testGfn(vm, 0);
      const pfn = kvmFaultinPfn(t, vm.kvm, slot, gfn, FOLL_WRITE, out);
      expect(pfn).toBe(followPteLockless(vm.mm, gfnToHvaMemslot(slot, gfn), true));
      expect(pfn).toBeGreaterThan(vm.host.mem.zeroPfn);
      expect(out).toEqual({ pfn, writable: true, refcountedPage: pfn, level: 0 });
    });
  });

  it('a read fault of an untouched page gets the zero page, not writable (write-fast GUP fails)', () => {
    onSlot((t, vm, slot, out) => {
      const pfn = kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 1), 0, out);
      expect(out).toEqual({
        pfn: vm.host.mem.zeroPfn,
        writable: false,
        refcountedPage: vm.host.mem.zeroPfn,
        level: 0,
      });
      expect(pfn).toBe(vm.host.mem.zeroPfn);
    });
  });

  it('a read fault of a written page takes the fast path, writable since map_writable is asked', () => {
    onSlot((t, vm, slot, out) => {
      const w = kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 2), FOLL_WRITE, out);
      const before = t.now;
      const r = kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 2), 0, out);
      expect(r).toBe(w);
      expect(out).toEqual({ pfn: w, writable: true, refcountedPage: w, level: 0 });
      expect(t.now - before).toBe(vm.kvm.engine.profile.gupFastNs);
    });
  });

  it('a READONLY slot: a write is KVM_PFN_ERR_RO_FAULT without GUP; a read never maps writable', () => {
    onSlot((t, vm, slot, out) => {
      const gfn = testGfn(vm, 3);
      kvmFaultinPfn(t, vm.kvm, slot, gfn, FOLL_WRITE, {
        pfn: 0,
        writable: false,
        refcountedPage: NO_PAGE,
        level: 0,
      });
      const ro = { ...slot, flags: KVM_MEM_READONLY };
      const before = t.now;
      expect(kvmFaultinPfn(t, vm.kvm, ro, gfn, FOLL_WRITE, out)).toBe(KVM_PFN_ERR_RO_FAULT);
      expect(out).toEqual({ pfn: KVM_PFN_ERR_RO_FAULT, writable: false, refcountedPage: NO_PAGE, level: 0 });
      expect(t.now).toBe(before);
      // The page is mapped writable in the host, but the slot is read-only: no fast path, slow GUP.
      const pfn = kvmFaultinPfn(t, vm.kvm, ro, gfn, 0, out);
      expect(out).toEqual({ pfn, writable: false, refcountedPage: pfn, level: 0 });
      expect(pfn).toBeGreaterThan(vm.host.mem.zeroPfn);
      const slowNs = t.now - before;
      const t0 = t.now;
      getUserPagesUnlocked(t, vm.mm, gfnToHvaMemslot(slot, gfn), FOLL_HWPOISON | FOLL_HONOR_NUMA_FAULT);
      expect(slowNs).toBe(t.now - t0); // exactly one slow GUP, no fast GUP before or after
      // An untouched page of a read-only slot is the zero page.
      expect(kvmFaultinPfn(t, vm.kvm, ro, testGfn(vm, 4), 0, out)).toBe(vm.host.mem.zeroPfn);
      expect(out.writable).toBe(false);
    });
  });

  it('an INVALID slot has no hva: KVM_PFN_NOSLOT', () => {
    onSlot((t, vm, slot, out) => {
      const bad = { ...slot, flags: KVM_MEMSLOT_INVALID };
      expect(kvmFaultinPfn(t, vm.kvm, bad, testGfn(vm, 0), 0, out)).toBe(KVM_PFN_NOSLOT);
      expect(out).toEqual({ pfn: KVM_PFN_NOSLOT, writable: false, refcountedPage: NO_PAGE, level: 0 });
    });
  });

  it('a poisoned page is KVM_PFN_ERR_HWPOISON (fast GUP refuses it, slow GUP says -EHWPOISON)', () => {
    onSlot((t, vm, slot, out) => {
      const pfn = kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 5), FOLL_WRITE, out);
      vm.host.mem.hwpoison.add(pfn);
      expect(kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 5), FOLL_WRITE, out)).toBe(KVM_PFN_ERR_HWPOISON);
      expect(out).toEqual({ pfn: KVM_PFN_ERR_HWPOISON, writable: false, refcountedPage: NO_PAGE, level: 0 });
    });
  });

  it('a pending signal stops an interruptible GUP: KVM_PFN_ERR_SIGPENDING; without the flag it goes on', () => {
    onSlot((t, vm, slot, out) => {
      t.signalPending = true;
      const r = kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 6), FOLL_WRITE | FOLL_INTERRUPTIBLE, out);
      expect(r).toBe(KVM_PFN_ERR_SIGPENDING);
      expect(out.refcountedPage).toBe(NO_PAGE);
      expect(kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 6), FOLL_WRITE, out)).toBeGreaterThan(0);
      t.signalPending = false;
    });
  });

  it('no VMA at the hva: KVM_PFN_ERR_FAULT, also with FOLL_NOWAIT', () => {
    onSlot((t, vm, slot, out) => {
      const nowhere = { ...slot, userspaceAddr: 4096 };
      expect(kvmFaultinPfn(t, vm.kvm, nowhere, slot.baseGfn, FOLL_WRITE | FOLL_NOWAIT, out)).toBe(
        KVM_PFN_ERR_FAULT,
      );
      expect(out).toEqual({ pfn: KVM_PFN_ERR_FAULT, writable: false, refcountedPage: NO_PAGE, level: 0 });
    });
  });

  it('GUP failing on a VMA that allows the access: KVM_PFN_ERR_NEEDS_IO with FOLL_NOWAIT, else ERR_FAULT', () => {
    onSlot((t, vm, slot, out) => {
      const mem = vm.host.mem;
      // Out of memory: the host fault fails (-ENOMEM), the VMA allows the write.
      for (let i = 0; i < 1 << 24 && mem.allocPages(t, 0, 0) >= 0; i++);
      for (let nid = 1; nid < mem.nodes.length; nid++) while (mem.allocPages(t, nid, 0) >= 0);
      const gfn = testGfn(vm, 7);
      expect(kvmFaultinPfn(t, vm.kvm, slot, gfn, FOLL_WRITE | FOLL_NOWAIT, out)).toBe(KVM_PFN_ERR_NEEDS_IO);
      expect(kvmFaultinPfn(t, vm.kvm, slot, gfn, FOLL_WRITE | FOLL_INTERRUPTIBLE, out)).toBe(
        KVM_PFN_ERR_FAULT,
      );
    });
  });
});

describe('hva_to_pfn_remapped (a VM_PFNMAP VMA)', () => {
  it('nothing mapped: fixup_user_fault has no driver fault handler, KVM_PFN_ERR_FAULT', () => {
    onSlot((t, vm, slot, out) => {
      vm.testVma.vmFlags = VM_PFNMAP;
      expect(kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 8), 0, out)).toBe(KVM_PFN_ERR_FAULT);
      expect(kvmFaultinPfn(t, vm.kvm, slot, testGfn(vm, 8), FOLL_WRITE, out)).toBe(KVM_PFN_ERR_FAULT);
    });
  });

  it('a read-only leaf: a write is KVM_PFN_ERR_RO_FAULT, a read maps the pfn with no reference taken', () => {
    onSlot((t, vm, slot, out) => {
      const gfn = testGfn(vm, 9);
      kvmFaultinPfn(t, vm.kvm, slot, gfn, 0, out); // the zero page, mapped read-only
      vm.testVma.vmFlags = VM_PFNMAP;
      expect(kvmFaultinPfn(t, vm.kvm, slot, gfn, FOLL_WRITE, out)).toBe(KVM_PFN_ERR_RO_FAULT);
      expect(out).toEqual({ pfn: KVM_PFN_ERR_RO_FAULT, writable: false, refcountedPage: NO_PAGE, level: 0 });
      const pfn = kvmFaultinPfn(t, vm.kvm, slot, gfn, 0, out);
      expect(out).toEqual({ pfn: vm.host.mem.zeroPfn, writable: false, refcountedPage: NO_PAGE, level: 0 });
      expect(pfn).toBe(vm.host.mem.zeroPfn);
    });
  });

  it('a writable leaf read through a READONLY slot: the pfn, not writable, no reference; a pin is -EINVAL', () => {
    onSlot((t, vm, slot, out) => {
      const gfn = testGfn(vm, 10);
      const w = kvmFaultinPfn(t, vm.kvm, slot, gfn, FOLL_WRITE, out);
      vm.testVma.vmFlags = VM_PFNMAP;
      const ro = { ...slot, flags: KVM_MEM_READONLY };
      expect(kvmFaultinPfn(t, vm.kvm, ro, gfn, 0, out)).toBe(w);
      expect(out).toEqual({ pfn: w, writable: false, refcountedPage: NO_PAGE, level: 0 });
      const hva = gfnToHvaMemslot(slot, gfn);
      const kfp = { slot, gfn, flags: 0, pin: true, mapWritable: false, out, hva, policy: vm.kvm.adPolicy };
      expect(hvaToPfnRemapped(t, vm.mm, vm.testVma, kfp, { pfn: 0 })).toBe(-22);
    });
  });
});
