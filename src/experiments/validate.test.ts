import { describe, expect, it } from 'vitest';
import { SEED003_BYTES_PER_VCPU, SEED003_ROWS } from './published.ts';
import { runTableRow } from './table.ts';
import { formatValidate, runValidate } from './validate.ts';

describe('mmulab validate', () => {
  it('holds the twelve published rows of seed 003 (1-8 vCPUs)', () => {
    expect(SEED003_ROWS).toHaveLength(12);
    expect(SEED003_BYTES_PER_VCPU).toBe(2 ** 30);
    expect(SEED003_ROWS.find((r) => r.vcpus === 8 && r.label === 'no opt')).toEqual({
      vcpus: 8,
      label: 'no opt',
      vcpuWallS: 1.589441079,
      agingPassS: 0.227419586,
    });
  });

  it('lines simulated runs up with the published rows and predicts the others', () => {
    const v = runValidate({ vcpus: [1], predict: [3], vcpuBytes: 4 << 20, micro: false });
    expect(v.rows.map((r) => [r.vcpus, r.label, r.publishedWallS])).toEqual([
      [1, 'no aging', 0.878822016],
      [1, 'no opt', 0.938250568],
      [1, 'opt', 0.91227019],
      [3, 'no aging', null],
      [3, 'no opt', null],
      [3, 'opt', null],
    ]);
    expect(v.shape[0].passRatio.published).toBeCloseTo(0.008236007 / 0.007314582, 9);
    expect(v.shape[0].passRatio.simulated).toBeGreaterThan(1);
    expect(v.shape[1].passRatio.published).toBeNull();
    // Growth against 1 vCPU: exact ratios of the simulated rows, none published for 3 vCPUs.
    const wall = (n: number) => v.rows.find((r) => r.vcpus === n && r.label === 'no aging')!.simulatedWallS;
    expect(v.shape[0].growth.wall).toEqual({ simulated: 1, published: 1 });
    expect(v.shape[1].growth.wall).toEqual({ simulated: wall(3) / wall(1), published: null });
    expect(v.shape[1].growth.passNoOpt.simulated).toBeGreaterThan(1);
    // Per fault: the wall's growth over the 1024 pages of 4 MiB (simulated), none published.
    expect(v.shape[0].growth.perFaultUs).toEqual({ simulated: 0, published: 0 });
    expect(v.shape[1].growth.perFaultUs).toEqual({
      simulated: ((wall(3) - wall(1)) * 1e6) / 1024,
      published: null,
    });
    expect(v.shape[1].growth.perFaultUs.simulated).toBeGreaterThan(0);
    const text = formatValidate(v);
    expect(text).toContain('# note: simulated with 4194304 bytes per vCPU; the published runs used 1 GiB');
    expect(text).toMatch(/ {4}1 no opt {4}0\.938250568 0\.\d{9}/);
    expect(text).toContain(
      '# growth against 1 vCPU(s): no-aging wall time, no-opt pass, opt pass; what a fault takes longer (µs)',
    );
    expect(text).toMatch(/\n {4}3 {5}n\/a {2}\d\.\d\dx.* {3}n\/a {3}\d\.\d\d\n/);
    // The no-aging run's lines per page faulted in (3 vCPUs x 1024 pages), those with a transfer.
    const row3 = runTableRow({ vcpus: 3, vcpuBytes: 4 << 20, kernel: null, seed: 0 });
    expect(v.lines[1].pages).toBe(3072);
    expect(v.lines[1].lines.map((l) => l.kind)).toEqual(row3.lines.map((l) => l.kind));
    expect(v.lines[1].lines[0]).toEqual({
      kind: 'mmap_lock',
      accessesPerPage: 6144 / 3072,
      transfersPerPage: 5063 / 3072,
      remoteShare: 0,
      waitNsPerPage: 43558 / 3072,
    });
    expect(text).toContain(
      [
        'vcpus  line                     accesses    pulls  remote  wait ns',
        '    1  memcg->memory.usage         0.041    0.004    0.0%      0.0',
      ].join('\n'),
    );
    expect(text).toContain('\n    3  mmap_lock                   2.000    1.648    0.0%     14.2\n');
  });
});
