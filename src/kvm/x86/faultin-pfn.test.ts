import { describe, expect, it } from 'vitest';
import { EFAULT, EINTR } from '../../host/gup.ts';
import { PG_DIRTY, PG_IDLE, PG_REFERENCED } from '../../host/page-flags.ts';
import { runOnVm, testGfn } from '../../testing/vm-fixture.ts';
import { NO_PAGE } from '../hva-to-pfn.ts';
import {
  KVM_PFN_ERR_FAULT,
  KVM_PFN_ERR_HWPOISON,
  KVM_PFN_ERR_NEEDS_IO,
  KVM_PFN_ERR_RO_FAULT,
  KVM_PFN_ERR_SIGPENDING,
} from '../kvm-pfn.ts';
import { KVM_MEM_READONLY } from '../memslots.ts';
import { kvmReleaseFaultinPage } from '../release-page.ts';
import { kvmHandleErrorPfn, kvmMmuFaultinPfn } from './faultin-pfn.ts';
import { RET_PF_CONTINUE, RET_PF_EMULATE, RET_PF_RETRY } from './kvm-mmu.ts';

describe('kvm_handle_error_pfn', () => {
  it('maps each error pfn to its return code', () => {
    expect(kvmHandleErrorPfn(KVM_PFN_ERR_SIGPENDING)).toBe(EINTR);
    expect(kvmHandleErrorPfn(KVM_PFN_ERR_RO_FAULT)).toBe(RET_PF_EMULATE);
    expect(kvmHandleErrorPfn(KVM_PFN_ERR_HWPOISON)).toBe(RET_PF_RETRY);
    expect(kvmHandleErrorPfn(KVM_PFN_ERR_FAULT)).toBe(EFAULT);
    expect(kvmHandleErrorPfn(KVM_PFN_ERR_NEEDS_IO)).toBe(EFAULT);
  });

  it('__kvm_mmu_faultin_pfn: a write to a READONLY slot is emulated; a write elsewhere continues', () => {
    runOnVm({}, (t, vm) => {
      const slot = vm.kvm.memslots(0).gfnToMemslot(testGfn(vm, 0))!;
      const out = { pfn: 0, writable: false, refcountedPage: NO_PAGE, level: 0 };
      const ro = { ...slot, flags: KVM_MEM_READONLY };
      expect(kvmMmuFaultinPfn(t, vm.kvm, ro, testGfn(vm, 0), true, out)).toBe(RET_PF_EMULATE);
      expect(kvmMmuFaultinPfn(t, vm.kvm, slot, testGfn(vm, 0), true, out)).toBe(RET_PF_CONTINUE);
      expect(out.writable).toBe(true);
      return undefined;
    });
  });
});

describe('kvm_release_faultin_page (v6.13)', () => {
  it('dirty when mapped writable, accessed always, nothing for NULL, unused or a reserved page', () => {
    runOnVm({}, (t, vm) => {
      const mem = vm.host.mem;
      const slot = vm.kvm.memslots(0).gfnToMemslot(testGfn(vm, 0))!;
      const out = { pfn: 0, writable: false, refcountedPage: NO_PAGE, level: 0 };
      const a = kvmMmuFaultinPfn(t, vm.kvm, slot, testGfn(vm, 1), true, out) === 0 ? out.refcountedPage : -1;
      const b = kvmMmuFaultinPfn(t, vm.kvm, slot, testGfn(vm, 2), true, out) === 0 ? out.refcountedPage : -1;
      mem.flags[a] = (mem.flags[a] & ~(PG_DIRTY | PG_REFERENCED)) | PG_IDLE;
      mem.flags[b] = (mem.flags[b] & ~(PG_DIRTY | PG_REFERENCED)) | PG_IDLE;
      kvmReleaseFaultinPage(t, vm.kvm, a, false, true);
      kvmReleaseFaultinPage(t, vm.kvm, b, false, false);
      expect(mem.flags[a] & (PG_DIRTY | PG_REFERENCED | PG_IDLE)).toBe(PG_DIRTY | PG_REFERENCED);
      expect(mem.flags[b] & (PG_DIRTY | PG_REFERENCED | PG_IDLE)).toBe(PG_REFERENCED);
      mem.flags[b] |= PG_IDLE;
      const before = t.now;
      kvmReleaseFaultinPage(t, vm.kvm, b, true, true);
      kvmReleaseFaultinPage(t, vm.kvm, NO_PAGE, false, true);
      kvmReleaseFaultinPage(t, vm.kvm, mem.zeroPfn, false, true);
      expect(mem.flags[b] & (PG_DIRTY | PG_IDLE)).toBe(PG_IDLE);
      expect(mem.flags[mem.zeroPfn] & PG_DIRTY).toBe(0);
      expect(t.now).toBe(before);
      return undefined;
    });
  });
});
