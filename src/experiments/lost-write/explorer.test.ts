import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AD_POLICIES, adPolicy } from '../../kvm/ad-policy.ts';
import type { GuestAccess } from './actors.ts';
import {
  FLUSHER,
  type LostWriteRunResult,
  RECLAIM,
  randomChooser,
  randomProgram,
  randomStreams,
  runSchedule,
  VCPU,
} from './explorer.ts';

/**
 * The guest reads page 0, then writes it; the vCPU takes four steps (fault-in, map, the read,
 * then the write), reclaim tries page 0 twice, the flusher takes two steps; then the VM's end.
 */
function readThenWrite(policyName: string, writenotify: boolean, eptAd = false): LostWriteRunResult {
  const prog: GuestAccess[] = [
    { page: 0, write: false },
    { page: 0, write: true },
  ];
  const sched = [VCPU, VCPU, VCPU, VCPU, RECLAIM, RECLAIM, FLUSHER, FLUSHER];
  let i = 0;
  return runSchedule({
    policy: adPolicy(policyName)!,
    writenotify,
    pages: 2,
    tdpMmu: true,
    eptAd,
    seed: 1,
    program: () => (i < prog.length ? prog[i++] : null),
    reclaimPick: () => 0,
    choose: (s) => (s < sched.length ? sched[s] : -1),
  })!;
}

/** [guest writes, pages written back, of which unneeded, pages dropped, writes lost]. */
function counters(r: LostWriteRunResult): number[] {
  return [r.writes, r.pagesWritten, r.unneededWritebacks, r.pagesDropped, r.lost.length];
}

describe('lost-write: a read, a write and reclaim of the page', () => {
  it('without write notification the read maps the page writable and clean: only no-dirty loses the write', () => {
    const got = Object.fromEntries(AD_POLICIES.map((p) => [p.name, counters(readThenWrite(p.name, false))]));
    expect(got).toEqual({
      'pre-6.13': [1, 1, 0, 0, 0],
      '6.13': [1, 1, 0, 0, 0],
      'stevens-v11': [1, 1, 0, 0, 0],
      'no-dirty': [1, 0, 0, 1, 1],
    });
  });

  it('names the lost write and the trail of its page: the clean folio reclaim dropped', () => {
    const l = readThenWrite('no-dirty', false).lost[0];
    expect([l.value, l.page, l.writtenAt, l.foundAt, l.found]).toEqual([1, 0, 3, 5, 0]);
    expect(l.trail.map((e) => `${e.step} ${e.actor} ${e.what} -> ${e.state}`)).toEqual([
      '0 vcpu0 read p0: EPT violation, fault-in -> pfn 4097 clean mem=0 disk=0 pte=rw spte=none',
      '1 vcpu0 read p0: map under mmu_lock -> pfn 4097 clean mem=0 disk=0 pte=rw spte=w',
      '3 vcpu0 write #1 to p0: stored -> pfn 4097 clean mem=1 disk=0 pte=rw spte=w',
      '4 reclaim p0: shrink_folio_list: referenced -> pfn 4097 clean mem=1 disk=0 pte=rw spte=access-tracked',
      '5 reclaim p0: shrink_folio_list: dropped -> not cached disk=0 pte=none spte=none',
    ]);
  });

  it('with write notification no policy loses it; the flusher writes the page page_mkwrite dirtied before the store', () => {
    for (const p of AD_POLICIES) expect(counters(readThenWrite(p.name, true))).toEqual([1, 2, 1, 0, 0]);
  });

  it('with EPT A/D bits on, no-dirty still loses the write without write notification', () => {
    expect(counters(readThenWrite('no-dirty', false, true))).toEqual([1, 0, 0, 1, 1]);
    expect(counters(readThenWrite('pre-6.13', false, true))).toEqual([1, 1, 0, 0, 0]);
  });
});

/** A random run of `steps` steps with seed `seed`. */
function randomRun(
  policyName: string,
  writenotify: boolean,
  seed: number,
  steps: number,
): LostWriteRunResult {
  const rs = randomStreams(seed);
  return runSchedule({
    policy: adPolicy(policyName)!,
    writenotify,
    pages: 4,
    tdpMmu: true,
    eptAd: false,
    seed,
    program: randomProgram(rs.program, 4),
    reclaimPick: () => rs.reclaim.nextInt(4),
    choose: randomChooser(rs.sched, steps),
  })!;
}

describe('lost-write: properties over random schedules', () => {
  it('the shipped policies lose no write, with or without write notification', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.constantFrom('pre-6.13', '6.13', 'stevens-v11'),
        fc.boolean(),
        (seed, policy, wn) => randomRun(policy, wn, seed, 200).lost.length === 0,
      ),
      { numRuns: 30, seed: 2 },
    );
  });

  it('with write notification even no-dirty loses nothing: the host dirtied the folio before any writable SPTE', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 20 }),
        (seed) => randomRun('no-dirty', true, seed, 200).lost.length === 0,
      ),
      { numRuns: 20, seed: 3 },
    );
  });

  it('runs are deterministic, and unneeded writebacks are a subset of the pages written', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.boolean(), (seed, wn) => {
        const a = randomRun('6.13', wn, seed, 100);
        const b = randomRun('6.13', wn, seed, 100);
        return JSON.stringify(a) === JSON.stringify(b) && a.unneededWritebacks <= a.pagesWritten;
      }),
      { numRuns: 10, seed: 4 },
    );
  });
});
