import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AccessTrackingCounters } from '../experiments/access-tracking/counters.ts';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import { PAGEVEC_SIZE } from '../host/lru-add.ts';
import { KERNEL_VARIANTS } from '../variants/kernel-variant.ts';
import { VARIANT_PARAMETERS } from '../variants/variant-diff.ts';
import { main } from './main.ts';

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

class Stop extends Error {}

describe('mmulab access-tracking output', () => {
  it('streams the header and each phase line through io.out while the run is still going', () => {
    const chunks: string[] = [];
    const io = {
      out: (s: string) => {
        chunks.push(s);
        // The first phase is done: stop the run here; nothing later may have been printed.
        if (s.startsWith('Populating memory')) throw new Stop();
      },
      err: (s: string) => errs.push(s),
    };
    const errs: string[] = [];
    // main() never throws: the abort is reported as an internal error (exit 70), after the lines
    // that had been streamed before it.
    expect(main(['access-tracking', '-v', '2', '-b', '2M'], io)).toBe(70);
    expect(errs.join('')).toMatch(/^mmulab: internal error/);
    expect(chunks[0]).toMatch(/^# mmulab access-tracking: .*\n# profile x86-tdp, seed 0, .*\n# all times/);
    expect(chunks.slice(1)).toEqual([
      'Random seed: 0x36700886\n',
      'lru_gen: Could not open /sys/kernel/mm/lru_gen/enabled\n',
      'Using page_idle for aging\n',
      'Testing guest mode: PA-bits:ANY, VA-bits:48,  4K pages\n',
      'guest physical test memory: [0x3fffffbff000, 0x3ffffffff000)\n',
      '\n',
      expect.stringMatching(/^Populating memory {13}: 0\.\d{9}s\n$/),
    ]);
  });

  it('a failed check in a vCPU thread ends the run before the phase line; the block goes to stderr, exit 254', () => {
    const r = run('access-tracking', '-b', '4M', '--random-access');
    expect(r.code).toBe(254);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^Reading from populated memory : /);
    expect(r.out).not.toContain('Mark memory idle');
    expect(r.err).toBe(
      [
        '==== Test Assertion Failure ====',
        '  access_tracking_perf_test.c:216: no_pfn < pages / 100',
        '  pid=1000 tid=1001 errno=0 - Success',
        '  vCPU 0: No PFN for 52 out of 1024 pages.',
        '',
      ].join('\n'),
    );
  });

  it('on a NUMA host the idle-page check only warns unless NUMA balancing is off or -w 0', () => {
    const args = ['access-tracking', '--profile', 'seed003-x86', '-l', '-b', '4M', '--kernel', 'pre-6.12'];
    const auto = run(...args);
    expect(auto.code).toBe(0);
    expect(auto.out.split('\n').slice(3, 6)).toEqual([
      'Random seed: 0x36700886',
      'Skipping idle page count sanity check, because NUMA balancing is enabled',
      'Using lru_gen for aging',
    ]);
    expect(auto.out).toContain(
      'WARNING: Too many pages still idle (1024 out of 1024), this will affect performance results.',
    );
    for (const extra of [
      ['--numa-balancing', '0'],
      ['-w', '0'],
    ]) {
      const strict = run(...args, ...extra);
      expect(strict.code).toBe(254);
      expect(strict.out).not.toContain('Skipping idle page count');
      expect(strict.err.split('\n').slice(0, 2)).toEqual([
        '==== Test Assertion Failure ====',
        '  access_tracking_perf_test.c:164: idle_pages_warn_only',
      ]);
    }
    expect(run(...args, '--numa-balancing', '0', '-w', '1').code).toBe(0);
    expect(run('access-tracking', '--numa-balancing', '2').err).toBe(
      "mmulab: --numa-balancing takes 0 or 1, not '2'\n",
    );
  });

  it("--skip-aging runs -p without aging passes: the table's no-aging row, from the command line", () => {
    const r = run('access-tracking', '-l', '-p', '--skip-aging', '-v', '2', '-b', '4M');
    expect(r.code).toBe(0);
    const api = runAccessTracking({
      vcpus: 2,
      vcpuBytes: 4 * 2 ** 20,
      lruGen: true,
      benchmark: true,
      benchmarkAging: false,
    });
    expect(api.benchmark!.passes).toBe(0);
    const wall = (api.benchmark!.vcpuWallNs / 1e9).toFixed(9);
    expect(r.out.split('\n').slice(-3)).toEqual([
      'Running lru_gen benchmark...',
      `vcpu wall time                : ${wall}s`,
      '',
    ]);
    const aged = run('access-tracking', '-l', '-p', '-v', '2', '-b', '4M').out;
    expect(aged).toMatch(/lru_gen avg pass duration/);
    expect(aged).not.toContain(`vcpu wall time                : ${wall}s`);
    const bad = run('access-tracking', '--skip-aging', '-b', '4M');
    expect([bad.code, bad.out, bad.err]).toEqual([2, '', 'mmulab: --skip-aging needs -p (--benchmark)\n']);
  });

  it('--selftest-version v4-series prints the posted series’ -p lines', () => {
    const lines = (v: string) =>
      run('access-tracking', '-l', '-p', '-b', '4M', '--selftest-version', v).out.split('\n').slice(3, -3);
    expect(lines('v4-series')).toEqual([
      'Random seed: 0x36700886',
      'Created memcg at /sys/fs/cgroup/access_tracking_perf_test',
      'Testing guest mode: PA-bits:ANY, VA-bits:48,  4K pages',
      'guest physical test memory: [0x3fffffbff000, 0x3ffffffff000)',
      'Running lru_gen benchmark...',
      'Populating memory (async)     ',
    ]);
    expect(lines('mainline')).toEqual([
      'Random seed: 0x36700886',
      'Using lru_gen for aging',
      'Creating cgroup: /sys/fs/cgroup/access_tracking_perf_test',
      'Testing guest mode: PA-bits:ANY, VA-bits:48,  4K pages',
      'guest physical test memory: [0x3fffffbff000, 0x3ffffffff000)',
      '',
      'Running lru_gen benchmark...',
    ]);
  });

  it('--counters prints every counter, MGLRU zeros included in page_idle mode', () => {
    const r = run('access-tracking', '-b', '1M', '--counters');
    const rows = r.out
      .slice(r.out.indexOf('# counters\n') + 11)
      .trimEnd()
      .split('\n');
    expect(rows.find((l) => l.startsWith('lruGen.agingPasses '))).toMatch(/ {13}0$/);
    // Two markings of the 256 - 256 % PAGEVEC_SIZE = 248 test pages that reached the LRU (the
    // vCPU's last 8 still wait in its CPU's LRU batch).
    const marked = 2 * (256 - (256 % PAGEVEC_SIZE));
    expect(rows.find((l) => l.startsWith('pageIdle.marked '))).toMatch(new RegExp(` ${marked}$`));
  });
});

describe('typed counters', () => {
  it('have one shape in every mode', () => {
    const idle = runAccessTracking({ vcpus: 1, vcpuBytes: 1 << 20 });
    const lru = runAccessTracking({ vcpus: 1, vcpuBytes: 4 << 20, lruGen: true });
    expect(lru.failure).toBeNull();
    const shape = (c: AccessTrackingCounters) =>
      Object.entries(c).map(([k, v]) => [k, Object.keys(v as object)]);
    expect(shape(idle.counters)).toEqual(shape(lru.counters));
    expect(idle.counters.lruGen.agingPasses).toBe(0);
    expect(lru.counters.lruGen.agingPasses).toBe(3);
    expectTypeOf(idle.counters.mmuLock.writeWaitNs).toEqualTypeOf<number>();
    // @ts-expect-error a misspelt counter does not type-check
    expect(idle.counters.mmuLock.writeWaitNS).toBeUndefined();
  });
});

describe('mmulab variants', () => {
  it('prints each variant and the parameters where it differs from 6.15', () => {
    const r = run('variants');
    expect(r.code).toBe(0);
    const block = (name: string) => r.out.split('\n\n').find((b) => b.startsWith(`${name}\n`))!;
    expect(block('6.15 (default)'.replace(' (default)', ''))).toBeUndefined();
    expect(block('v4').split('\n').slice(2)).toEqual([
      '  differs from 6.15:',
      '    secondaryMmuCap: true (6.15: false) - that walk is the runtime cap 0x8 of /sys/kernel/mm/lru_gen/enabled',
    ]);
    expect(block('6.12').split('\n').slice(2)).toEqual([
      '  differs from 6.15:',
      '    kvmAging: write-lock (6.15: lockless) - how KVM ages x86 SPTEs (kvm_age_gfn)',
    ]);
  });

  it('compares every design parameter a variant has', () => {
    for (const v of KERNEL_VARIANTS)
      for (const k of Object.keys(v))
        if (k !== 'name' && k !== 'description') expect(VARIANT_PARAMETERS).toHaveProperty(k);
  });
});
