import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, parseProfile } from '../sim/profile.ts';
import { main } from './main.ts';
import { parseSize } from './parse-size.ts';

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmulab CLI', () => {
  it('parses sizes like the selftests', () => {
    expect(parseSize('1G')).toBe(2 ** 30);
    expect(parseSize('64m')).toBe(64 * 2 ** 20);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('12X')).toBeNaN();
    expect(parseSize('-1')).toBeNaN();
  });

  for (const [argv, msg] of [
    [['access-tracking', '-v', '0'], /-v must be a whole number >= 1/],
    [['access-tracking', '-b', '12X'], /invalid size '12X'/],
    [['access-tracking', '-b', '1000'], /multiple of the 4 KiB page size/],
    [['access-tracking', '-s', 'tmpfs'], /Allowed choices are anonymous, anonymous_thp/],
    [['access-tracking', '--profile', 'nope'], /unknown profile 'nope'/],
    [['access-tracking', '--aging', 'rcu'], /Allowed choices are write-lock, lockless/],
    [['access-tracking', '-w', 'x'], /-w takes a whole number/],
    [
      ['access-tracking', '-v', '64', '-b', '64G'],
      /^mmulab: 4096\.00 GiB of guest memory \(-v x -b\) needs more host memory than a host PTE can address \(511\.99 GiB of frames\); at most 509\.\d\d GiB fits\n$/,
    ],
    [['access-tracking', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['access-tracking', '--kernel', '4.19'], /Allowed choices are pre-6.12, 6.12, 6.15/],
    [['table', '--vcpus', '1,0'], /--vcpus takes whole numbers >= 1/],
    [['table', '--kernels', 'v9', '-b', '1M'], /unknown kernel 'v9'/],
    [['table', '--json', '--csv'], /cannot be used with option/],
    [['calibrate', '--out', '/tmp/x.json'], /required option '--reference <file>' not specified/],
    [
      ['calibrate', '--reference', 'references/seed003.yaml', '--out', '/tmp/x.json', '--params', 'vmExitNs'],
      /--params: 'vmExitNs' is not a free parameter/,
    ],
    [
      ['calibrate', '--reference', 'nope.yaml', '--out', '/tmp/x.json'],
      /--reference: cannot read 'nope.yaml'/,
    ],
    [
      ['access-tracking', '-b', '1M', '--host-memory', '1G'],
      /needs -l \(global reclaim is modelled with MGLRU only\)/,
    ],
    [
      ['access-tracking', '-l', '--host-memory', '1000'],
      /hostMemoryBytes must be a multiple of the 4 KiB page size/,
    ],
    [
      ['access-tracking', '--mmu', 'ept'],
      /option '--mmu <mmu>' argument 'ept' is invalid\. Allowed choices are tdp, shadow/,
    ],
    [['micro', 'page-fault', '--mode', 'fork'], /--mode must be one of thread, process, not 'fork'/],
    [['micro', 'page-fault', '--threads', '0'], /--threads must be a whole number >= 1, not '0'/],
    [['micro', 'page-fault', '--threads', '-3'], /--threads must be a whole number >= 1, not '-3'/],
    [['micro', 'page-fault', '--threads', '49', '--profile', 'bdw-2650v4'], /profile bdw-2650v4 has 48 CPUs/],
    [['micro', 'page-fault', '--memsize', '12X'], /--memsize: invalid size '12X'/],
    [['micro', 'page-fault', '--memsize', '1000'], /--memsize must be a positive multiple of the 4 KiB/],
    [['micro', 'page-fault', '--iterations', '0'], /--iterations must be a whole number >= 1, not '0'/],
    [['micro', 'page-fault', '--fault-lock', 'rcu'], /--fault-lock must be one of mmap_lock, per-vma/],
    [
      ['micro', 'page-fault', '--thp', '--memsize', '1M'],
      /--memsize must be a multiple of the 2 MiB huge page size with --thp, not 1048576/,
    ],
    [['micro', 'line-contention', '--thp'], /--thp applies to page-fault only, not to line-contention/],
    [['micro', 'page-fault', '--profile', 'nope'], /unknown profile 'nope'/],
    [
      ['micro', 'page-faults'],
      /micro: unknown experiment 'page-faults' \(known: line-contention, page-fault, pft\)/,
    ],
    [['micro', 'pft', '--threads', '113'], /--threads 113: profile skx-2s-112 has 112 CPUs/],
    [['micro', 'pft', '--kernel', '6.9'], /--kernel must be one of 5.12, 6.2 for pft, not '6.9'/],
    [
      ['micro', 'pft', '--mode', 'process'],
      /pft runs threads of one process: --mode process is not one of its modes/,
    ],
    [
      ['micro', 'pft', '--memsize', '1000'],
      /--memsize must be a positive multiple of the 4 KiB page size, not 1000/,
    ],
    [
      ['micro', 'line-contention', '--kernel', '6.2'],
      /--kernel applies to pft and page-fault only, not to line-contention/,
    ],
    [
      ['micro', 'page-fault', '--kernel', '6.9'],
      /--kernel must be one of 5.13, 6.2 for page-fault, not '6.9'/,
    ],
    [
      ['micro', 'page-fault', '--kernel', '6.2', '--fault-lock', 'per-vma'],
      /--kernel: the per-VMA lock path runs today's kernel; --kernel sets the mmap_lock path's/,
    ],
    [
      ['micro', 'page-fault', '--test', 'page_fault4'],
      /--test must be one of page_fault1, page_fault2, page_fault3, not 'page_fault4'/,
    ],
    [
      ['micro', 'page-fault', '--test', 'page_fault3', '--iterations', '1'],
      /--iterations must be >= 2 with page_fault3/,
    ],
    [['micro', 'pft', '--test', 'page_fault3'], /--test applies to page-fault only, not to pft/],
  ] as const) {
    it(`rejects ${argv.join(' ')} with one line and exit 2`, () => {
      const r = run(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^mmulab: /);
    });
  }

  it('reports an OOM kill by the simulated kernel in one line, exit 1', () => {
    const r = run('access-tracking', '-l', '-b', '8M', '--host-memory', '4M');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^mmulab: Out of memory \(page allocation failure: no reclaim progress\): Killed process \d+, anon-rss:\d+kB\n$/,
    );
  });

  it('calibrates a profile and writes one that loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmulab-cal-'));
    const ref = join(dir, 'ref.yaml');
    writeFileSync(
      ref,
      'vcpuBytes: 1048576\nrows:\n  - { vcpus: 1, label: no aging, vcpuWallS: 0.01, agingPassS: null }\n',
    );
    const out = join(dir, 'fitted.json');
    const r = run(
      'calibrate',
      '--reference',
      ref,
      '--out',
      out,
      '--params',
      'hostFaultNs',
      '--max-evaluations',
      '3',
      '--no-micro',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# mmulab calibrate: 3 simulations of 1 rows; error /);
    // Starts from seed003-x86, the profile of seed 003's machine.
    expect(r.out).toMatch(/hostFaultNs +750 -> +\d+/);
    expect(r.err.trimEnd().split('\n')).toHaveLength(3);
    const fitted = parseProfile('fitted', JSON.parse(readFileSync(out, 'utf8')));
    expect(fitted.hostFaultNs).toBeGreaterThan(520);
    expect(fitted.walkPteNs).toBe(loadProfile('seed003-x86').walkPteNs);
  });

  it('runs the experiment and prints the selftest output', () => {
    const r = run('access-tracking', '-b', '1M');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Reading from idle memory {6}: 0\.\d{9}s\n$/);
  });

  it('runs the seed-003 table as CSV', () => {
    const r = run('table', '--vcpus', '1', '-b', '1M', '--csv');
    expect(r.code).toBe(0);
    expect(
      r.out
        .split('\n')
        .slice(1, 4)
        .map((l) => l.split(',').slice(0, 3).join(',')),
    ).toEqual(['1,no aging,', '1,no opt,6.12', '1,opt,6.15']);
  });

  it('runs micro page-fault and prints where the time went, or JSON', () => {
    const args = ['micro', 'page-fault', '--threads', '2', '--memsize', '1M', '--profile', 'bdw-2650v4'];
    const r = run(...args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^# mmulab micro page-fault: will-it-scale page_fault1, 2 task\(s\) in thread mode/,
    );
    expect(r.out).toMatch(/\npages per second +: \d+ \(all tasks together\)\n/);
    expect(r.out).toMatch(/\n# task: 2 thread\(s\)/);
    const j = JSON.parse(run(...args, '--json').out);
    expect(j.simulated).toBe(true);
    expect(j.faults).toBe(512);
    expect(j.perTaskOps).toEqual([256, 256]);
    expect(j.time.classes[0].class).toBe('task');
    expect(j.thp).toBeUndefined();
  });

  it('runs micro page-fault --test page_fault3: the warm-up, then the counted iteration', () => {
    const args = ['micro', 'page-fault', '--test', 'page_fault3', '--threads', '2', '--memsize', '1M'];
    const r = run(...args, '--profile', 'bdw-2650v4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^# mmulab micro page-fault: will-it-scale page_fault3, 2 task\(s\) in thread mode, simulated\n# profile bdw-2650v4, fault lock mmap_lock \(kernel 5.13\), 1 MiB x 2 iteration\(s\) per task \(the first fills the page cache, not counted\)/,
    );
    expect(r.out).toContain(
      [
        'pages per second    : 1370453 (all tasks together)',
        'per task ops        : 685227 pages/s (mean)',
        'faults              : 1024',
        'page cache          : 512 pages read in (the warm-up), 512 hits',
        'warmed up at        : 0.005697337s (the counted iterations start together then)',
        'elapsed             : 0.006070936s',
      ].join('\n'),
    );
    expect(r.out).toContain('\n# the report below covers the whole run, the warm-up iteration included\n');
  });

  it('runs micro pft on the machine of its references, or JSON', () => {
    const args = ['micro', 'pft', '--threads', '2', '--memsize', '8M'];
    const r = run(...args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^# mmulab micro pft: mmtests pft, 2 thread\(s\) of one process fault one region's pages, simulated\n# profile skx-2s-112, kernel 5\.12, 2048 pages \(1024 per thread\)/,
    );
    expect(r.out).toContain("\nfaults per second   : 1179731 (pft's fault/wsec: all threads together)\n");
    const j = JSON.parse(run(...args, '--kernel', '6.2', '--json').out);
    expect([j.simulated, j.kernel, j.pages, j.trylockRetries, j.elapsedNs]).toEqual([
      true,
      '6.2',
      2048,
      0,
      1736029,
    ]);
  });

  it('runs micro page-fault --thp and prints the huge faults', () => {
    const args = [
      'micro',
      'page-fault',
      '--thp',
      '--threads',
      '2',
      '--memsize',
      '4M',
      '--profile',
      'bdw-2650v4',
    ];
    const r = run(...args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^# mmulab micro page-fault: will-it-scale page_fault1, 2 task\(s\) in thread mode with THP,/,
    );
    expect(r.out).toContain(
      '\nhuge faults         : 4 (2 MiB folios), 0 of 4 KiB\nwrites, no fault    : 2044\nfolios freed        : 4\n',
    );
    const j = JSON.parse(run(...args, '--json').out);
    expect([j.faults, j.perTaskOps, j.thp]).toEqual([
      4,
      [1024, 1024],
      { hugeFaults: 4, pageFaults: 0, writesWithoutFault: 2044, foliosFreed: 4 },
    ]);
  });

  it('prints one JSON object with --json', () => {
    const r = run('access-tracking', '-b', '1M', '--json', '--aging', 'write-lock');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.simulated).toBe(true);
    expect(j.options.aging).toBe('write-lock');
    expect(j.phases).toHaveLength(7);
    expect(j.counters.mmuLock.writeAcquired).toBe(j.counters.kvm.ageGfnCalls);
  });

  it('--mmu shadow: the selftest output of page_idle mode; JSON counters show the shadow MMU at work', () => {
    const r = run('access-tracking', '-b', '1M', '--mmu', 'shadow', '--kernel', '6.12');
    expect(r.code).toBe(0);
    expect(r.out.split('\n').slice(3, 9)).toEqual([
      'Random seed: 0x36700886',
      'lru_gen: Could not open /sys/kernel/mm/lru_gen/enabled',
      'Using page_idle for aging',
      'Testing guest mode: PA-bits:ANY, VA-bits:48,  4K pages',
      'guest physical test memory: [0x3fffffeff000, 0x3ffffffff000)',
      '',
    ]);
    expect(r.out).toMatch(/\nMark memory idle \(page_idle\) {2}: 0\.\d{9}s\nWriting to idle memory {8}: /);
    const j = JSON.parse(
      run('access-tracking', '-b', '1M', '--mmu', 'shadow', '--kernel', '6.12', '--json').out,
    );
    expect(j.options.mmu).toBe('shadow');
    expect(j.counters.mmuLock.readAcquired).toBe(0);
    expect(j.counters.mmuLock.writeAcquired).toBe(j.counters.kvm.ageGfnCalls + j.counters.kvm.eptViolations);
    expect(j.counters.shadowMmu.sptesPrefetched).toBe(7);
  });

  it('prints the package version with --version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(run('--version')).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
  });

  it('refuses help for an unknown command, and prints defaults as a user types them', () => {
    expect(run('help', 'nosuch')).toEqual({
      code: 2,
      out: '',
      err: "mmulab: help: unknown command 'nosuch' (commands: access-tracking, table, sysfs, calibrate, micro, mmio-gen, lost-write, memslot-modification-stress, memslot-perf, faultin, variants, profiles, validate)\n",
    });
    const help = run('help', 'access-tracking').out.replace(/\s+/g, ' ');
    expect(help).toContain('guest memory per vCPU (K/M/G suffixes) (default: 1G)');
    expect(help).toContain('swap device size (needs --host-memory) (default: none) ');
    expect(help).not.toContain('1073741824');
    expect(run('help', 'table').out.replace(/\s+/g, ' ')).toContain(
      'vCPU counts, comma-separated (default: 1,2,4,8)',
    );
  });

  it('leaves machine-dependent limits out of --json', () => {
    const r = run('access-tracking', '-b', '1M', '--json');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('memoryLimitBytes');
    expect(Object.keys(JSON.parse(r.out).options)).not.toContain('memoryLimitBytes');
  });

  it('shows page_idle/bitmap as 64-bit words, not raw bytes', () => {
    const r = run('sysfs', '/sys/kernel/mm/page_idle/bitmap', '-b', '1M');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^00000000: (0{16} ){3}0{16}\n\*\n[0-9a-f]{8}: [0-9a-f ]+\n[0-9a-f]{8}\n$/);
  });

  it('takes a profile by path, and writes the trace only after the run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmulab-cli-'));
    const profile = join(dir, 'mine.json');
    writeFileSync(profile, readFileSync(new URL('../../profiles/x86-tdp.json', import.meta.url)));
    const trace = join(dir, 't.jsonl');
    const r = run('access-tracking', '-b', '1M', '--profile', profile, '--trace', trace);
    expect(r.code).toBe(0);
    expect(r.out).toBe(run('access-tracking', '-b', '1M').out.replace('profile x86-tdp', 'profile mine'));
    expect(readFileSync(trace, 'utf8').split('\n')[0]).toMatch(/^\{/);
    expect(readdirSync(dir).sort()).toEqual(['mine.json', 't.jsonl']);
  });
});
