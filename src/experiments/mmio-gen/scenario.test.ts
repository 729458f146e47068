import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMmioGen } from './format.ts';
import { resolveMmioGenOptions } from './options.ts';
import { runMmioGenAll } from './run.ts';

const dir = mkdtempSync(join(tmpdir(), 'mmulab-scenario-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const WINDOW = '{ slot: 10, gpa: 0xfd000000, size: 0x20000, toggle: true }';

describe('mmio-gen --scenario: memslots beside the memstress VM, checked before simulating', () => {
  it('refuses overlapping memslots, with each range', () => {
    const both = file(
      'both.yaml',
      `memslots:\n  - ${WINDOW}\n  - { slot: 11, gpa: 0xfd01f000, size: 0x2000 }\n`,
    );
    expect(() => resolveMmioGenOptions({ scenario: both })).toThrow(
      `--scenario: ${both}: memslots 10 [0xfd000000, 0xfd020000) and 11 [0xfd01f000, 0xfd021000) overlap`,
    );
    // Memslot 0 of the 4 x 2 MiB memstress VM holds 512 + 7 + 20 pages: [0, 0x21b000).
    const low = file('low.yaml', `memslots:\n  - ${WINDOW}\n  - { slot: 3, gpa: 0x21a000, size: 0x1000 }\n`);
    expect(() => resolveMmioGenOptions({ scenario: low })).toThrow(
      "memslots 0 (the memstress VM's) [0x0, 0x21b000) and 3 [0x21a000, 0x21b000) overlap",
    );
    const dup = file(
      'dup.yaml',
      `memslots:\n  - ${WINDOW}\n  - { slot: 10, gpa: 0x100000000, size: 0x1000 }\n`,
    );
    expect(() => resolveMmioGenOptions({ scenario: dup })).toThrow('memslot 10 is given twice');
    const one = file(
      'one.yaml',
      'memslots:\n  - { slot: 1, gpa: 0x100000000, size: 0x1000, toggle: true }\n',
    );
    expect(() => resolveMmioGenOptions({ scenario: one })).toThrow(
      "memslot 1 is given twice (the memstress VM's)",
    );
  });

  it('refuses a rate of 0 or less, an unknown strategy, unaligned or out-of-range memslots, and nothing to toggle', () => {
    const cases: [string, string, string][] = [
      [
        'zero.yaml',
        `rate: 0\nmemslots:\n  - ${WINDOW}\n`,
        'zero.yaml:1: rate: Too small: expected number to be >0',
      ],
      ['neg.json', '{ "rate": -5, "memslots": [] }', 'neg.json:1: rate: Too small: expected number to be >0'],
      [
        'strategy.yaml',
        `strategy: zap-some\nmemslots:\n  - ${WINDOW}\n`,
        'strategy.yaml:1: strategy.0: Invalid option',
      ],
      [
        'odd.yaml',
        'memslots:\n  - { slot: 10, gpa: 0xfd000800, size: 0x1000, toggle: true }\n',
        'must be multiples of 4096',
      ],
      [
        'high.yaml',
        'memslots:\n  - { slot: 10, gpa: 0x400000000000, size: 0x1000, toggle: true }\n',
        "beyond the guest's 46 physical address bits",
      ],
      [
        'still.yaml',
        'memslots:\n  - { slot: 10, gpa: 0xfd000000, size: 0x1000 }\n',
        'no memslot has toggle: true',
      ],
      [
        'extra.yaml',
        `memslots:\n  - ${WINDOW}\nspeed: 3\n`,
        'extra.yaml:1: (top level): Unrecognized key: "speed"',
      ],
    ];
    for (const [name, text, message] of cases)
      expect(() => resolveMmioGenOptions({ scenario: file(name, text) }), name).toThrow(message);
    // --rate on the command line is checked as before, whatever the scenario says.
    const ok = file('ok.yaml', `rate: 500\nmemslots:\n  - ${WINDOW}\n`);
    expect(() => resolveMmioGenOptions({ scenario: ok, rate: '0' })).toThrow('--rate must be a number');
    expect(resolveMmioGenOptions({ scenario: ok }).rate).toBe(500);
    expect(resolveMmioGenOptions({ scenario: ok, rate: '250' }).rate).toBe(250);
  });

  it('two windows take turns and a RAM slot stays: the same one wrap per strategy as the VGA window alone', () => {
    const two = file(
      'two.yaml',
      [
        'strategy: [zap-mmio, zap-all-fast]',
        'memslots:',
        '  - { slot: 2, gpa: 0x100000000, size: 0x200000 }',
        `  - ${WINDOW}`,
        '  - { slot: 11, gpa: 0xfe000000, size: 0x4000, toggle: true }',
      ].join('\n'),
    );
    const o = resolveMmioGenOptions({ scenario: two, pages: 8, vcpus: 2, updates: 100 });
    const rs = runMmioGenAll(o);
    expect(formatMmioGen(o, rs).split('\n').slice(1)).toEqual([
      '# VMM toggles 2 memslots in turn: 100 updates at 1000/s, start generation hack; simulated',
      'strategy          wraps  hold/wrap(us)  pages-visited  restarts  sptes-zapped  mmio-zapped  vcpu-stall(us)  refaults',
      'zap-mmio              1            3.9             23         0             0            8            23.0         8',
      'zap-all-fast          1           74.5             23         0          1024            8            24.9       143',
      '',
    ]);
  });
});
