import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.ts';

const dir = mkdtempSync(join(tmpdir(), 'mmulab-malformed-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const bom = file(
  'bom.yaml',
  '\uFEFFvcpuBytes: 4096\nrows:\n  - { vcpus: 1, label: nope, vcpuWallS: 1, agingPassS: null }\n',
);
const tagged = file('tag.yaml', 'vcpuBytes: !big 4096\nrows: []\n');
const commaProfile = file('comma.json', '{ "description": "x", "costs": {}, }');
const emptyProfile = file('empty.json', '');
const notJson = file('text.json', 'hello');
const noCosts = file('nocosts.json', '{ "description": "x" }');

/**
 * Command lines a user can get wrong. Every one must be refused before anything is simulated (the
 * sizes would otherwise run for minutes, or crash), with one line and exit status 2.
 */
const MALFORMED: string[][] = [
  // lost-write: an unknown policy, MMU or write-notify setting, a file larger than the disk, 0 seeds.
  ['lost-write', '--policy', 'pre-6.12'],
  ['lost-write', '--policy', '6.13,nope'],
  ['lost-write', '--mmu', 'npt'],
  ['lost-write', '--writenotify', 'yes'],
  ['lost-write', '--pages', '512', '--disk-pages', '256'],
  ['lost-write', '--seeds', '0'],
  ['lost-write', '--depth', '13', '--systematic'],
  // mmio-gen: unknown strategy or MMU, a memslot rate of 0 or less, a shadow-only strategy on TDP.
  ['mmio-gen', '--strategy', 'nope'],
  ['mmio-gen', '--strategy', 'zap-mmio,nope'],
  ['mmio-gen', '--rate', '0'],
  ['mmio-gen', '--rate', '-5'],
  ['mmio-gen', '--rate', 'fast'],
  ['mmio-gen', '--mmu', 'ept'],
  ['mmio-gen', '--mmu', 'tdp', '--strategy', 'zap-mmio-restart'],
  ['mmio-gen', '--start-gen', '-150'],
  ['mmio-gen', '--sweep-pages', '8,0'],
  ['mmio-gen', '--pages', '100000'],
  // mmio-gen --scenario: overlapping memslots, a rate of 0 or below, an unknown strategy, a missing file.
  [
    'mmio-gen',
    '--scenario',
    file(
      'overlap.yaml',
      'memslots:\n  - { slot: 10, gpa: 0xfd000000, size: 0x20000, toggle: true }\n  - { slot: 11, gpa: 0xfd010000, size: 0x20000 }\n',
    ),
  ],
  [
    'mmio-gen',
    '--scenario',
    file(
      'rate0.json',
      '{ "rate": 0, "memslots": [{ "slot": 10, "gpa": "0xfd000000", "size": 4096, "toggle": true }] }',
    ),
  ],
  [
    'mmio-gen',
    '--scenario',
    file(
      'rateneg.yaml',
      'rate: -1\nmemslots:\n  - { slot: 10, gpa: 0xfd000000, size: 4096, toggle: true }\n',
    ),
  ],
  [
    'mmio-gen',
    '--scenario',
    file(
      'strategy.yaml',
      'strategy: zap-some\nmemslots:\n  - { slot: 10, gpa: 0xfd000000, size: 4096, toggle: true }\n',
    ),
  ],
  ['mmio-gen', '--scenario', join(dir, 'missing.yaml')],
  // memslot-modification-stress: 0 vCPUs or iterations, a negative delay, unaligned or too much
  // memory, a dummy memslot that would overlap memslot 0, an unknown MMU, too many vCPUs.
  ['memslot-modification-stress', '-v', '0'],
  ['memslot-modification-stress', '-i', '0'],
  ['memslot-modification-stress', '-d', '-5'],
  ['memslot-modification-stress', '-d', 'soon'],
  ['memslot-modification-stress', '-b', '5000'],
  ['memslot-modification-stress', '-b', '64T'],
  ['memslot-modification-stress', '-b', '67108863M'],
  ['memslot-modification-stress', '--mmu', 'ept'],
  ['memslot-modification-stress', '-v', '100'],
  ['memslot-modification-stress', '-b', '4T'],
  // faultin: an unknown backing, variant or MMU, a PFNMAP not a multiple of its mapping size, too much.
  ['faultin', '--backing', 'nope'],
  ['faultin', '--backing', 'anonymous,pfnmap-3m'],
  ['faultin', '--variant', '6.14'],
  ['faultin', '--mmu', 'ept'],
  ['faultin', '--backing', 'pfnmap-1g', '-b', '1536M'],
  ['faultin', '--backing', 'pfnmap-2m', '-b', '3M'],
  ['faultin', '--backing', 'thp', '-b', '1M'],
  ['faultin', '-b', '8G'],
  // memslot-perf: parse_args' refusals, an unknown MMU, more simulated time than the limit.
  ['memslot-perf', '-s', '1'],
  ['memslot-perf', '-s', '-5'],
  ['memslot-perf', '-s', 'x'],
  ['memslot-perf', '-e', '6'],
  ['memslot-perf', '-f', '3', '-e', '2'],
  ['memslot-perf', '-r', '0'],
  ['memslot-perf', '-l', '-1'],
  ['memslot-perf', '--mmu', 'ept'],
  ['memslot-perf', '-l', '11'],
  // faultin: a file backing larger than the simulated disk, a disk size that is not a size.
  ['faultin', '--backing', 'file', '-b', '64M', '--disk', '32M'],
  ['faultin', '--backing', 'anonymous,shmem', '-b', '8K', '--disk', '4K'],
  ['faultin', '--backing', 'file', '--disk', 'big'],
  // faultin: an unknown --walk.
  ['faultin', '--walk', 'crazy'],
  ['faultin', '--walk', 'gup,follow-pte'],
  ['faultin', '--populate', 'sideways'],
  // Commands and help.
  ['frobnicate'],
  ['help', 'nosuch'],
  ['--nosuch'],
  ['access-tracking', 'extra-argument'],
  ['profiles', 'x'],
  ['sysfs'],
  // Sizes the host page tables cannot address, or this machine cannot hold.
  ['access-tracking', '-b', '512G'],
  ['access-tracking', '-v', '64', '-b', '64G'],
  ['access-tracking', '-b', '100T'],
  ['access-tracking', '-v', '4096', '-b', '1T'],
  ['access-tracking', '-l', '-b', '600G'],
  ['access-tracking', '-p', '-v', '8', '-b', '100G'],
  ['access-tracking', '-s', 'shmem', '-b', '1T'],
  ['sysfs', '/sys/kernel/debug/lru_gen', '-b', '1T'],
  ['sysfs', '/sys/kernel/debug/lru_gen', '-v', '1000', '-b', '1G'],
  ['table', '--vcpus', '1,64', '-b', '64G'],
  ['validate', '-b', '1T'],
  ['access-tracking', '-l', '-b', '1M', '--host-memory', '1T'],
  ['access-tracking', '-l', '-b', '1M', '--host-memory', '4M', '--swap', '1T'],
  // Host CPUs: the model needs more than the vCPUs.
  ['access-tracking', '-v', '2', '--host-cpus', '2', '-b', '1M'],
  ['access-tracking', '-v', '300', '-b', '1M'],
  ['access-tracking', '--host-cpus', '0'],
  ['sysfs', '/sys/kernel/debug/lru_gen', '-v', '1000', '-b', '1M'],
  // Host memory too small to boot, and options that need another.
  ['access-tracking', '-l', '-b', '64M', '--host-memory', '1M'],
  ['access-tracking', '-l', '-v', '16', '-b', '1M', '--host-memory', '1M'],
  ['access-tracking', '-l', '-b', '64M', '--host-memory', '4K'],
  ['access-tracking', '-b', '16M', '--swap', '64M'],
  ['access-tracking', '-l', '-b', '16M', '--swap', '64M'],
  ['access-tracking', '-b', '1M', '--host-memory', '1G'],
  ['access-tracking', '-l', '--host-memory', '1000'],
  ['access-tracking', '-l', '-b', '1M', '--host-memory', '8M', '--swap', '1000'],
  // Output paths that cannot be written.
  ['access-tracking', '-b', '16M', '--trace', '/nonexistent/dir/t.jsonl'],
  ['access-tracking', '-b', '16M', '--trace', dir],
  ['access-tracking', '-b', '16M', '--trace', ''],
  ['access-tracking', '-b', '16M', '--trace', join(commaProfile, 't.jsonl')],
  ['calibrate', '--reference', 'references/seed003.yaml', '--out', '/nonexistent/fitted.json'],
  ['calibrate', '--reference', 'references/seed003.yaml', '--out', dir],
  ['calibrate', '--reference', 'references/seed003.yaml', '--out', '/etc/hostname/fitted.json'],
  // Numbers.
  ...['-v', '--seed', '--host-cpus'].flatMap((o) =>
    ['0x10', '-1', '1.5', 'abc', '', '99999999999999999999'].map((v) => ['access-tracking', o, v]),
  ),
  ['access-tracking', '-v', '0'],
  ['access-tracking', '-v', '5000', '-b', '1M'],
  ['access-tracking', '--seed', '4294967296', '-b', '1M'],
  ['access-tracking', '-w', 'x'],
  ['access-tracking', '-w', '-1'],
  // Sizes.
  ...['-b', '--host-memory', '--swap'].flatMap((o) =>
    ['12X', '0', '-1M', '1.5G', 'G', '', '1P', '99999999999999999999T'].map((v) => [
      'access-tracking',
      '-l',
      o,
      v,
    ]),
  ),
  ['access-tracking', '-b', '1000'],
  ['access-tracking', '-b', '4097'],
  ['access-tracking', '-s', 'anonymous_thp', '-b', '1M'],
  ['access-tracking', '-s', 'anonymous_hugetlb', '-b', '4K'],
  ['sysfs', '/sys/kernel/debug/lru_gen', '-b', '1000'],
  ['table', '-b', '1000', '--vcpus', '1'],
  // Choices.
  ['access-tracking', '-s', 'tmpfs'],
  ['access-tracking', '--kernel', '4.19'],
  ['access-tracking', '--aging', 'rcu'],
  ['access-tracking', '--mmu', 'ept'],
  ['table', '--mmu', 'npt', '-b', '1M', '--vcpus', '1'],
  ['access-tracking', '--mmu', '', '-b', '1M'],
  ['table', '--mmu', 'Shadow', '-b', '1M', '--vcpus', '1'],
  ['sysfs', '/sys/kernel/debug/lru_gen', '--kernel', 'nope'],
  ['table', '--kernels', 'v9', '-b', '1M', '--vcpus', '1'],
  ['table', '--kernels', '6.12,', '-b', '1M', '--vcpus', '1', '--json', '--csv'],
  // Lists.
  ...['table', 'validate'].flatMap((c) =>
    ['1,0', '', ',', '1,,2', 'a', '1;2', '-1', '1.5'].map((v) => [c, '--vcpus', v]),
  ),
  ['validate', '--vcpus', '3'],
  ['validate', '--vcpus', '1,16'],
  ['validate', '--predict', '0'],
  ['table', '-j', '0'],
  ['validate', '-j', 'x'],
  ['validate', '--micro-memsize', '1000'],
  ['validate', '--micro-memsize', '0'],
  // Profiles.
  ['access-tracking', '--profile', 'nope'],
  ['access-tracking', '--profile', '../package'],
  ['access-tracking', '--profile', '/nonexistent/p.json'],
  ['access-tracking', '--profile', commaProfile],
  ['access-tracking', '--profile', emptyProfile],
  ['access-tracking', '--profile', notJson],
  ['access-tracking', '--profile', noCosts],
  ['access-tracking', '--profile', dir],
  ['table', '--profile', 'nope'],
  ['validate', '--profile', commaProfile],
  ['calibrate', '--reference', 'references/seed003.yaml', '--out', join(dir, 'f.json'), '--profile', noCosts],
  // Reference files and calibrate options.
  ['calibrate', '--out', join(dir, 'f.json')],
  ['calibrate', '--reference', 'references/seed003.yaml'],
  ['calibrate', '--reference', 'nope.yaml', '--out', join(dir, 'f.json')],
  ['calibrate', '--reference', bom, '--out', join(dir, 'f.json')],
  ['calibrate', '--reference', tagged, '--out', join(dir, 'f.json')],
  ['calibrate', '--reference', commaProfile, '--out', join(dir, 'f.json')],
  ['calibrate', '--reference', dir, '--out', join(dir, 'f.json')],
  [
    'calibrate',
    '--reference',
    'references/seed003.yaml',
    '--out',
    join(dir, 'f.json'),
    '--params',
    'vmExitNs',
  ],
  ['calibrate', '--reference', 'references/seed003.yaml', '--out', join(dir, 'f.json'), '-j', '0'],
  [
    'calibrate',
    '--reference',
    'references/seed003.yaml',
    '--out',
    join(dir, 'f.json'),
    '--max-evaluations',
    '0',
  ],
  [
    'calibrate',
    '--reference',
    'references/seed003.yaml',
    '--out',
    join(dir, 'f.json'),
    '--max-evaluations',
    'x',
  ],
  // Missing values.
  ['access-tracking', '-b'],
  ['access-tracking', '--profile'],
  ['access-tracking', '--trace'],
  ['sysfs', '/sys/kernel/debug/lru_gen', '--write'],
  ['table', '--vcpus'],
];

function run(argv: string[]) {
  let out = '';
  let err = '';
  let code: number;
  try {
    code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  } catch (e) {
    code = -1;
    err = `THROWN: ${(e as Error).stack}`;
  }
  return { code, out, err };
}

describe('malformed command lines', () => {
  it(`refuses all ${MALFORMED.length} with one line and exit 2, before simulating`, () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(100);
    const bad: string[] = [];
    for (const argv of MALFORMED) {
      const t0 = performance.now();
      const r = run(argv);
      const ms = performance.now() - t0;
      const lines = r.err.split('\n').filter((l) => l !== '');
      const ok =
        r.code === 2 &&
        r.out === '' &&
        lines.length === 1 &&
        lines[0].startsWith('mmulab: ') &&
        !/\n\s+at /.test(r.err) &&
        ms < 2000;
      if (!ok) bad.push(`${JSON.stringify(argv)} -> ${r.code} in ${Math.round(ms)} ms: ${r.err}${r.out}`);
    }
    expect(bad).toEqual([]);
  });
});
