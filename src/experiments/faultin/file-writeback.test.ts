import { describe, expect, it } from 'vitest';
import type { AdPolicyName } from '../../kvm/ad-policy.ts';
import type { FaultinBacking } from './faultin-vm.ts';
import { runFaultin } from './run.ts';

/** 1 MiB of file; flusher and reclaim every 1 ms, reclaim 16 folios a time. */
const PAGES = 256;
const PACE = { flushPeriodNs: 1_000_000, reclaimPeriodNs: 1_000_000, reclaimBatch: 16 };

/** faults, fast GUP, slow GUP, 4K SPTEs, refs taken, refs dropped, refcount errors, then the file's counters. */
function counters(backing: FaultinBacking, variant: AdPolicyName, write: boolean): number[] {
  const r = runFaultin({ backing, variant, bytes: PAGES * 4096, write, pace: PACE });
  expect(r.runError).toBeNull();
  const f = r.file!;
  return [
    r.faults,
    r.fastGup,
    r.slowGup,
    r.spte4k,
    r.refsTaken,
    r.refsDropped,
    r.refcountErrors,
    f.writes,
    f.writtenBack,
    f.unneeded,
    f.dropped,
    f.lostWrites,
  ];
}

const POLICIES = ['pre-6.13', '6.13', 'stevens-v11', 'no-dirty'] as const;

describe('faultin on file backings: writeback, unneeded writebacks and lost writes per policy', () => {
  //        faults fast slow 4k  taken dropped err writes wb unneeded dropped lost
  it('file, two write passes: page_mkwrite dirties every folio; each page written back twice; no policy differs', () => {
    for (const p of POLICIES)
      expect(counters('file', p, true)).toEqual([726, 214, 512, 512, 726, 726, 0, 512, 512, 0, 0, 0]);
  });

  it('file, read pass then write pass: read faults map read-only, so nothing is dirtied speculatively', () => {
    for (const p of POLICIES)
      expect(counters('file', p, false)).toEqual([512, 0, 512, 512, 512, 512, 0, 256, 256, 0, 0, 0]);
  });

  it('shmem, two write passes: the write faults dirty the folio whatever KVM does', () => {
    for (const p of POLICIES)
      expect(counters('shmem', p, true)).toEqual([726, 214, 512, 512, 726, 726, 0, 512, 512, 0, 0, 0]);
  });

  it('shmem, read pass then write pass: 6.13 dirties every page it maps writable for a read, no-dirty loses every write', () => {
    const got = Object.fromEntries(POLICIES.map((p) => [p, counters('shmem', p, false)]));
    expect(got).toEqual({
      'pre-6.13': [256, 0, 256, 256, 512, 512, 0, 256, 256, 0, 0, 0],
      '6.13': [731, 219, 512, 512, 987, 987, 0, 256, 512, 256, 0, 0],
      'stevens-v11': [256, 0, 256, 256, 512, 512, 0, 256, 256, 0, 0, 0],
      'no-dirty': [256, 0, 256, 256, 512, 512, 0, 256, 0, 0, 0, 256],
    });
  });
});
