import { describe, expect, it } from 'vitest';
import type { FaultinWalk } from '../../kvm/kvm.ts';
import type { FaultinBacking } from './faultin-vm.ts';
import { runFaultin } from './run.ts';

/** faults, fast GUP, slow GUP, remapped, converged, spte-4k, spte-2m, refs taken, refs dropped; then the fault path's ns. */
function run(backing: FaultinBacking, walk: FaultinWalk, populate: boolean): [number[], number] {
  const r = runFaultin({
    backing,
    variant: '6.13',
    bytes: 4 << 20,
    write: true,
    walk,
    populate: populate ? 'write' : null,
  });
  expect(r.runError).toBeNull();
  return [
    [r.faults, r.fastGup, r.slowGup, r.remapped, r.converged, r.spte4k, r.spte2m, r.refsTaken, r.refsDropped],
    r.faultPathNs,
  ];
}

describe('faultin --walk converged: one walk for pfn and level instead of GUP and host_pfn_mapping_level', () => {
  it('populated memory: every fault is one converged walk, no reference, the same SPTE levels, less time', () => {
    expect(run('anonymous', 'gup', true)).toEqual([[1024, 1024, 0, 0, 0, 1024, 0, 1024, 1024], 1782612]);
    expect(run('anonymous', 'converged', true)).toEqual([[1024, 0, 0, 0, 1024, 1024, 0, 0, 0], 1682260]);
    expect(run('thp', 'gup', true)).toEqual([[2, 2, 0, 0, 0, 0, 2, 2, 2], 4115]);
    expect(run('thp', 'converged', true)).toEqual([[2, 0, 0, 0, 2, 0, 2, 0, 0], 3919]);
    // PFNMAP: no GUP, slow GUP, mmap_lock and follow_pfnmap_start; the walk reads the special PMD.
    expect(run('pfnmap-2m', 'gup', true)).toEqual([[2, 0, 0, 2, 0, 0, 2, 0, 0], 4521]);
    expect(run('pfnmap-2m', 'converged', true)).toEqual([[2, 0, 0, 0, 2, 0, 2, 0, 0], 3845]);
  });

  it('shmem the VMM read first: the walk hands out writable clean PTEs with no page to dirty, so 6.13 loses every write', () => {
    const lost = (walk: FaultinWalk, variant: '6.13' | 'pre-6.13') => {
      const r = runFaultin({
        backing: 'shmem',
        variant,
        bytes: 1 << 20,
        write: false,
        walk,
        populate: 'read',
      });
      return [r.converged, r.fastGup, r.file!.writtenBack, r.file!.lostWrites];
    };
    // GUP hands kvm_release_faultin_page a page, which 6.13 dirties at map time.
    expect(lost('gup', '6.13')).toEqual([0, 256, 256, 0]);
    expect(lost('converged', '6.13')).toEqual([256, 0, 0, 256]);
    // pre-6.13 dirties the pfn when the dirty SPTE is zapped (the memslot's deletion here).
    expect(lost('converged', 'pre-6.13')).toEqual([256, 0, 256, 0]);
  });

  it('memory not yet mapped in the host: the walk fails like fast GUP and costs the same, then GUP runs', () => {
    for (const backing of ['anonymous', 'thp', 'pfnmap-2m', 'non-refcounted'] as const)
      expect(run(backing, 'converged', false)).toEqual(run(backing, 'gup', false));
  });
});
