import { describe, expect, it } from 'vitest';
import { type FaultinResult, runFaultin } from './run.ts';

const MIB4 = 4 << 20;

/** The counters of a run without its time and error text. */
function counters(r: FaultinResult): number[] {
  return [
    r.faults,
    r.fastGup,
    r.slowGup,
    r.remapped,
    r.fixups,
    r.spte4k,
    r.spte2m,
    r.spte1g,
    r.refsTaken,
    r.refsDropped,
    r.refcountErrors,
  ];
}

describe('faultin: paths, SPTE levels and references per backing and policy (4 MiB, writes)', () => {
  //                        faults fast slow remap fixup 4k   2m 1g taken dropped errors
  it('anonymous: slow GUP takes a reference per page and KVM drops it after mapping, any policy', () => {
    for (const variant of ['pre-6.13', '6.13', 'stevens-v11'] as const) {
      const r = runFaultin({ backing: 'anonymous', variant, bytes: MIB4, write: true });
      expect(counters(r)).toEqual([1024, 0, 1024, 0, 0, 1024, 0, 0, 1024, 1024, 0]);
      expect(r.runError).toBeNull();
    }
  });

  it('thp and hugetlb: one fault per 2 MiB folio, mapped by a 2 MiB SPTE', () => {
    for (const backing of ['thp', 'hugetlb'] as const) {
      const r = runFaultin({ backing, variant: '6.13', bytes: MIB4, write: true });
      expect(counters(r)).toEqual([2, 0, 2, 0, 0, 0, 2, 0, 2, 2, 0]);
    }
  });

  it('pfnmap at 4K and 2M: remapped after fixup_user_fault, no struct page so no reference, SPTEs at the host level', () => {
    for (const variant of ['pre-6.13', '6.13', 'stevens-v11'] as const) {
      expect(counters(runFaultin({ backing: 'pfnmap-4k', variant, bytes: MIB4, write: true }))).toEqual([
        1024, 0, 0, 1024, 1024, 1024, 0, 0, 0, 0, 0,
      ]);
      expect(counters(runFaultin({ backing: 'pfnmap-2m', variant, bytes: MIB4, write: true }))).toEqual([
        2, 0, 0, 2, 2, 0, 2, 0, 0, 0, 0,
      ]);
    }
  });

  it('huge PFNMAP: 1 GiB of BAR is one fault and one 1 GiB SPTE', () => {
    const r = runFaultin({ backing: 'pfnmap-1g', variant: '6.13', bytes: 2 ** 30, write: true });
    expect(counters(r)).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0]);
  });

  it('mixedmap: vm_insert_page and GUP each take a reference; KVM drops GUP’s', () => {
    const r = runFaultin({ backing: 'mixedmap', variant: '6.13', bytes: MIB4, write: true });
    expect(counters(r)).toEqual([1024, 0, 1024, 0, 0, 1024, 0, 0, 2048, 1024, 0]);
  });

  it('non-refcounted: pre-6.13 refuses the first tail page (refcount 0) and KVM_RUN fails with -EFAULT', () => {
    const r = runFaultin({ backing: 'non-refcounted', variant: 'pre-6.13', bytes: MIB4, write: true });
    // The block's head (refcount 1) is referenced, mapped and released; its first tail is refused.
    expect(counters(r)).toEqual([2, 0, 0, 1, 2, 1, 0, 0, 1, 1, 0]);
    expect(r.runError).toBe(
      'KVM_RUN returned -14 (kvm_handle_error_pfn for gfn 0x100001, host pfn 0x1201); page events: try_get failed (refcount 0)',
    );
  });

  it('non-refcounted: 6.13 maps every page without a reference; stevens-v11 references only the block heads', () => {
    const mainline = runFaultin({ backing: 'non-refcounted', variant: '6.13', bytes: MIB4, write: true });
    expect(counters(mainline)).toEqual([1024, 0, 0, 1024, 1024, 1024, 0, 0, 0, 0, 0]);
    const stevens = runFaultin({
      backing: 'non-refcounted',
      variant: 'stevens-v11',
      bytes: MIB4,
      write: true,
    });
    expect(counters(stevens)).toEqual([1024, 0, 0, 1024, 1024, 1024, 0, 0, 2, 2, 0]);
  });

  it('the shadow MMU maps 1 GiB of huge PFNMAP with one 1 GiB SPTE too', () => {
    const r = runFaultin({
      backing: 'pfnmap-1g',
      variant: '6.13',
      bytes: 2 ** 30,
      write: true,
      tdpMmu: false,
    });
    expect(counters(r)).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0]);
  });
});
