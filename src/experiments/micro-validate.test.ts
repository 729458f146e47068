import { describe, expect, it } from 'vitest';
import { loadProfile } from '../sim/profile.ts';
import { PAGE_FAULT1_MEMSIZE } from './micro/page-fault.ts';
import { MICRO_MACHINE_PROFILES } from './micro/reference-profiles.ts';
import { loadLineContentionReference, loadPageFaultReference, loadPftReference } from './micro/references.ts';
import {
  formatMicroValidation,
  type MicroJob,
  microValidationJobs,
  planMicroValidation,
  runMicroJob,
  runMicroValidation,
} from './micro-validate.ts';

const refs = {
  line: loadLineContentionReference(),
  pageFault: loadPageFaultReference(),
  pft: loadPftReference(),
};
const KiB = 1024;

describe('micro reference machines → profiles', () => {
  it('has one entry per machine of the reference files, and no other', () => {
    const machines = [
      ...Object.keys(refs.line.machines),
      ...Object.keys(refs.pageFault.machines),
      ...Object.keys(refs.pft.machines),
    ];
    expect(Object.keys(MICRO_MACHINE_PROFILES).sort()).toEqual([...new Set(machines)].sort());
  });

  it('names only profiles mmulab ships', () => {
    for (const m of Object.values(MICRO_MACHINE_PROFILES))
      if (m.profile !== null) expect(loadProfile(m.profile).name).toBe(m.profile);
  });

  it('simulates every row with a profile for its machine and gives every other row a reason', () => {
    const plan = planMicroValidation(refs, PAGE_FAULT1_MEMSIZE);
    expect(plan).toHaveLength(refs.line.rows.length + refs.pageFault.rows.length + refs.pft.rows.length);
    const tally: Record<string, number> = {};
    for (const { row, job } of plan) {
      expect(job === null, `${row.experiment} ${row.machine}`).toBe(row.notSimulated !== null);
      expect(row.profile).toBe(job?.profile ?? null);
      const key = job === null ? `not simulated: ${row.notSimulated}` : `${row.machine} on ${job.profile}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    expect(tally).toEqual({
      'spr-2s on seed003-x86': 2,
      'icx-8375c on icx-8358': 3,
      'clx-8275cl on clx-6252': 3,
      'clx-6242 on clx-6252': 3,
      'bdw-2695v4 on bdw-2650v4': 3,
      'skl-6700hq on skl-6700hq': 3,
      'icl-1035g4 on icl-1035g4': 3,
      'bdw-2650v4 on bdw-2650v4': 18,
      'skx-2s-112 on skx-2s-112': 11,
      'spr-8480ctdx on seed003-x86': 4,
      'clx-6252 on clx-6252': 1,
      'icx-8358 on icx-8358': 1,
    });
  });
});

describe('runMicroValidation', () => {
  it('runs one job per simulated row, as mmulab micro does, and lines its value up with the row', () => {
    const seen: MicroJob[] = [];
    const progress: number[] = [];
    const m = runMicroValidation({
      memsize: 8 * KiB,
      run: (j) => {
        seen.push(j);
        // A line row at exactly 1.25x of its published 44 ns, the rest fixed values.
        if (j.experiment === 'line-contention') return j.profile === 'bdw-2650v4' ? 55 : 60;
        return 2_000_000;
      },
      onProgress: (done, total) => progress.push(done, total),
    });
    const line = (profile: string, placements: readonly string[] = ['same-socket', 'cross-socket', 'smt']) =>
      placements.map((placement) => ({
        experiment: 'line-contention',
        profile,
        placement,
        threads: 2,
      }));
    const pf = (mode: 'thread' | 'process', test?: 'page_fault2' | 'page_fault3') =>
      [16, 24, 48].map((threads) => ({
        experiment: 'page-fault',
        profile: 'bdw-2650v4',
        ...(test === undefined ? {} : { test }),
        mode,
        threads,
        memsize: 8 * KiB,
      }));
    const skx = {
      experiment: 'page-fault',
      profile: 'skx-2s-112',
      mode: 'process',
      threads: 112,
      memsize: 8 * KiB,
    };
    // The Sapphire Rapids rows: THP on whole 2 MiB pages per task, and the per-VMA fault lock of
    // their 6.8-rc kernel.
    const spr = [56, 112, 168, 224].map((threads) => ({
      experiment: 'page-fault',
      profile: 'seed003-x86',
      mode: 'thread',
      threads,
      memsize: 2048 * KiB,
      faultLock: 'per-vma',
      thp: true,
    }));
    // The laptop rows give one thread's time per RMW at 2, 3 and 4 threads.
    const laptop = (profile: string) =>
      [2, 3, 4].map((threads) => ({
        experiment: 'line-contention',
        profile,
        placement: 'same-socket',
        threads,
        perThread: true,
      }));
    // The pft rows: 1 GiB, whatever page_fault1's size, with their source's kernel.
    // The Cascade Lake-SP and Ice Lake-SP page_fault3 rows: their source's 6.2 mmap_lock path.
    const lkp2022 = ['clx-6252', 'icx-8358'].map((profile) => ({
      experiment: 'page-fault',
      profile,
      test: 'page_fault3',
      mode: 'thread',
      threads: 16,
      memsize: 8 * KiB,
      kernel: '6.2',
    }));
    const pft = [1, 4, 7, 12, 21, 30, 48, 79, 110, 112].map((threads) => ({
      experiment: 'pft',
      profile: 'skx-2s-112',
      threads,
      memsize: 1024 * 1024 * KiB,
      kernel: '5.12',
    }));
    expect(seen).toEqual([
      ...line('seed003-x86', ['same-socket', 'cross-socket']),
      ...line('icx-8358'),
      ...line('clx-6252'),
      ...line('clx-6252'),
      ...line('bdw-2650v4'),
      ...laptop('skl-6700hq'),
      ...laptop('icl-1035g4'),
      ...pf('thread'),
      ...pf('process'),
      ...pf('thread', 'page_fault2'),
      ...pf('process', 'page_fault2'),
      ...pf('thread', 'page_fault3'),
      ...pf('process', 'page_fault3'),
      skx,
      ...spr,
      ...lkp2022,
      ...pft,
    ]);
    expect(microValidationJobs()).toHaveLength(55);
    expect(progress).toEqual(Array.from({ length: 55 }, (_, i) => [i + 1, 55]).flat());
    expect([m.memsize, m.thpMemsize]).toEqual([8 * KiB, 2048 * KiB]);
    expect(m.rows).toHaveLength(55);
    const at = (experiment: string, machine: string, setting: string, threads: number) =>
      m.rows.find(
        (r) =>
          r.experiment === experiment &&
          r.machine === machine &&
          r.setting === setting &&
          r.threads === threads,
      );
    expect(at('pft', 'skx-2s-112', 'thread/5.12', 12)).toEqual({
      experiment: 'pft',
      machine: 'skx-2s-112',
      setting: 'thread/5.12',
      threads: 12,
      published: 4703127,
      unit: 'faults/s total',
      src: 'rasmussen2021',
      profile: 'skx-2s-112',
      simulated: 2_000_000,
      ratio: 2_000_000 / 4703127,
      withinTolerance: false,
      notSimulated: null,
    });
    expect(at('line-contention', 'bdw-2695v4', 'same-socket', 2)).toEqual({
      experiment: 'line-contention',
      machine: 'bdw-2695v4',
      setting: 'same-socket',
      threads: 2,
      published: 44,
      unit: 'ns per hand-off',
      src: 'nviennot',
      profile: 'bdw-2650v4',
      simulated: 55,
      ratio: 1.25,
      withinTolerance: true,
      notSimulated: null,
    });
    expect(at('line-contention', 'spr-2s', 'cross-socket', 2)).toMatchObject({
      profile: 'seed003-x86',
      ratio: 60 / 138,
      withinTolerance: false,
    });
    expect(at('line-contention', 'icx-8375c', 'smt', 2)).toMatchObject({
      profile: 'icx-8358',
      simulated: 60,
      withinTolerance: false,
    });
    expect(at('page_fault3', 'icx-8358', 'thread', 16)).toMatchObject({
      published: 6221506,
      src: 'lkp2022icx',
      profile: 'icx-8358',
      simulated: 2_000_000,
    });
    expect(at('page_fault1', 'bdw-2650v4', 'thread', 16)).toMatchObject({
      published: 2332446,
      simulated: 2_000_000,
      ratio: 2_000_000 / 2332446,
      withinTolerance: true,
    });
    // 2.0 M against 8.05 M: 0.248x.
    expect(at('page_fault1', 'bdw-2650v4', 'process', 24)).toMatchObject({ withinTolerance: false });
    expect(at('page_fault1', 'spr-8480ctdx', 'thread/THP', 112)).toEqual({
      experiment: 'page_fault1',
      machine: 'spr-8480ctdx',
      setting: 'thread/THP',
      threads: 112,
      published: 44754589,
      unit: 'pages/s total',
      src: 'lkp2024spr',
      profile: 'seed003-x86',
      simulated: 2_000_000,
      ratio: 2_000_000 / 44754589,
      withinTolerance: false,
      notSimulated: null,
    });
    // 128 MiB is whole huge pages already: the THP rows map what the 4 KiB rows map.
    expect(microValidationJobs({ memsize: PAGE_FAULT1_MEMSIZE }).at(-13)).toMatchObject({
      memsize: PAGE_FAULT1_MEMSIZE,
      thp: true,
    });
  });

  it('simulates the line rows and a small page_fault1 row to the exact value', () => {
    const line = (profile: string) =>
      (['same-socket', 'cross-socket', 'smt'] as const).map((placement) =>
        runMicroJob({ experiment: 'line-contention', profile, placement, threads: 2 }),
      );
    expect(line('seed003-x86')).toEqual([50, 149.95, 10.02]);
    expect(line('bdw-2650v4')).toEqual([44, 117.963, 8.018]);
    const pf = runMicroJob({
      experiment: 'page-fault',
      profile: 'bdw-2650v4',
      mode: 'thread',
      threads: 16,
      memsize: 64 * KiB,
    });
    // With bdw-2650v4's floor on contended hand-offs (cacheLineContendedNs, 130 ns): 1 291 208 without.
    expect(pf).toBe(1198630.9387246754);
  });

  it('refuses a page_fault1 size that is not whole pages before it simulates anything', () => {
    const run = () => {
      throw new Error('simulated');
    };
    expect(() => runMicroValidation({ memsize: 1000, run })).toThrow(
      '--micro-memsize must be a positive multiple of the 4 KiB page size, not 1000',
    );
  });

  it('prints one line per row: simulated with ratio and verdict, or why not', () => {
    const m = runMicroValidation({
      memsize: 64 * KiB,
      run: (j) => (j.experiment === 'page-fault' ? 3e6 : j.experiment === 'pft' ? 4.5e6 : 45.04),
    });
    const text = formatMicroValidation(m).split('\n');
    expect(text.slice(0, 3)).toEqual([
      '# micro-experiments: published (hardware) vs simulated, each machine on its profile (docs/micro-references.md)',
      '# note: page_fault1-3 simulated with 65536 bytes per task (THP rows: 2097152, whole 2 MiB pages); the published runs map 128 MiB',
      'experiment      machine      profile      placement/mode threads    published    simulated unit                 sim/pub  ±25%',
    ]);
    expect(text).toContain(
      'line-contention bdw-2695v4   bdw-2650v4   same-socket          2         44.0         45.0 ns per hand-off        1.02x  yes',
    );
    expect(text).toContain(
      'page_fault1     bdw-2650v4   bdw-2650v4   process             16      5546153      3000000 pages/s total          0.54x  NO',
    );
    expect(text).toContain(
      'page_fault2     bdw-2650v4   bdw-2650v4   thread              16      2005510      3000000 pages/s total          1.50x  NO',
    );
    expect(text).toContain(
      'page_fault3     bdw-2650v4   bdw-2650v4   thread              16      3216287      3000000 pages/s total          0.93x  yes',
    );
    expect(text).toContain(
      'page_fault1     spr-8480ctdx seed003-x86  thread/THP          56     28146956      3000000 pages/s total          0.11x  NO',
    );
    // Within ±25 % of 45.04 ns: the same-socket rows of icx (51), both Cascade Lakes (47, 48) and bdw
    // (44), the Skylake laptop's 2 threads (44.1), the Ice Lake laptop's 3 threads (49.3).
    expect(text).toContain(
      'pft             skx-2s-112   skx-2s-112   thread/5.12         12      4703127      4500000 faults/s total         0.96x  yes',
    );
    // And the three page_fault3 thread rows (3.2 M published).
    expect(text.at(-2)).toBe('# 17 of 55 simulated rows within ±25 %; 0 rows not simulated');
    const full = { ...m, memsize: PAGE_FAULT1_MEMSIZE, thpMemsize: PAGE_FAULT1_MEMSIZE };
    expect(formatMicroValidation(full)).not.toContain('# note');
  });
});
