import { describe, expect, it } from 'vitest';
import { formatTable, runTable, runTableRow, tableCsv } from './table.ts';

describe('mmulab table', () => {
  it("prints seed 003's layout with no aging, no opt (6.12) and opt (6.15) rows, then the ratios", () => {
    const t = runTable({ vcpus: [1, 2], vcpuBytes: 4 << 20, kernels: ['6.12', '6.15'] });
    expect(t.rows.map((r) => `${r.vcpus} ${r.label}`)).toEqual([
      '1 no aging',
      '1 no opt',
      '1 opt',
      '2 no aging',
      '2 no opt',
      '2 opt',
    ]);
    for (const r of t.rows) {
      if (r.kernel === null) expect([r.avgPassNs, r.passes]).toEqual([null, 0]);
      else expect(r.passes).toBeGreaterThan(0);
    }
    // Write-locked aging (6.12) is slower per pass than lockless aging (6.15).
    for (const ratio of t.ratios) expect(ratio.passRatio).toBeGreaterThan(1);
    const text = formatTable(t, ['6.12', '6.15']).split('\n');
    expect(text[0]).toBe('num_vcpus vcpu wall time aging avg pass time');
    expect(text[1]).toBe('');
    expect(text[2]).toMatch(/^1 \(no aging\) 0\.\d{9} n\/a$/);
    expect(text[3]).toMatch(/^1 \(no opt\) 0\.\d{9} 0\.\d{9}$/);
    expect(text.at(-3)).toMatch(/^# 1 {2}\d+\.\d\dx {2}-?\d+\.\d% {2}-?\d+\.\d%$/);
    expect(tableCsv(t.rows).split('\n')[0]).toBe(
      'vcpus,variant,kernel,vcpu_wall_s,aging_avg_pass_s,aging_passes',
    );
  });

  it('widens the no-opt/opt aging-pass gap as vCPUs are added (seed 003 shape)', () => {
    const t = runTable({ vcpus: [1, 2, 4], vcpuBytes: 16 << 20, kernels: ['6.12', '6.15'] });
    const r = t.ratios.map((x) => x.passRatio ?? 0);
    expect(r[0]).toBeGreaterThan(1);
    expect(r[1]).toBeGreaterThan(r[0]);
    expect(r[2]).toBeGreaterThan(r[1]);
    // Both kinds of aging slow the vCPUs: each pass retires a generation under the lruvec lock their
    // LRU drains need. (At 16 MiB lockless passes run so often that they cost more than write-locked
    // ones; at seed 003's 1 GiB `mmulab validate` shows opt < no opt.)
    for (const x of t.ratios) expect(Math.min(x.overhead['no opt'], x.overhead.opt)).toBeGreaterThan(0.05);
  });

  it('gives the same rows, in the same order, when the runs share two worker threads', () => {
    const o = { vcpus: [1, 2], vcpuBytes: 2 << 20, kernels: ['6.12', '6.15'] };
    expect(runTable({ ...o, jobs: 2 })).toEqual(runTable(o));
  });

  it('with several seeds, gives each row the mean of its runs, their wall range and each overhead range per seed', () => {
    const o = { vcpus: [2], vcpuBytes: 2 << 20, kernels: ['6.15'] };
    const s0 = runTable({ ...o, seed: 5 });
    const s1 = runTable({ ...o, seed: 6 });
    const t = runTable({ ...o, seed: 5, seeds: 2 });
    const walls = [s0.rows[0].vcpuWallNs, s1.rows[0].vcpuWallNs];
    // Each line's figures are the mean of the two runs', rounded: the seeds differ on mmap_lock's.
    const meanOf = (kind: string) => {
      const [a, b] = [s0, s1].map((s) => s.rows[0].lines.find((l) => l.kind === kind)!);
      const m = (x: number, y: number) => Math.round((x + y) / 2);
      return {
        kind,
        accesses: m(a.accesses, b.accesses),
        transfers: m(a.transfers, b.transfers),
        remoteTransfers: m(a.remoteTransfers, b.remoteTransfers),
        waitNs: m(a.waitNs, b.waitNs),
      };
    };
    expect(t.rows[0]).toEqual({
      ...s0.rows[0],
      vcpuWallNs: Math.round((walls[0] + walls[1]) / 2),
      seeds: 2,
      vcpuWallRangeNs: [Math.min(...walls), Math.max(...walls)],
      lines: s0.rows[0].lines.map((l) => meanOf(l.kind)),
    });
    expect(s0.rows[0].lines[0].transfers).not.toBe(s1.rows[0].lines[0].transfers);
    expect(walls[0]).not.toBe(walls[1]);
    const opt = [s0.ratios[0].overhead.opt, s1.ratios[0].overhead.opt];
    expect(t.ratios[0].overheadRange).toEqual({ opt: [Math.min(...opt), Math.max(...opt)] });
    expect(t.ratios[0].overhead.opt).toBe(t.rows[1].vcpuWallNs / t.rows[0].vcpuWallNs - 1);
    const text = formatTable(t, ['6.15']).split('\n');
    expect(text[2]).toMatch(/^2 \(no aging\) 0\.\d{9} n\/a \[0\.\d{9}\.\.0\.\d{9}\]$/);
    expect(text[5]).toBe(
      '# simulated seconds, mean of 2 seeds; wall [min..max] and overhead [min..max] over the seeds; per row:',
    );
    expect(text[7]).toMatch(/^# 2 {2}-?\d+\.\d\d% \[-?\d+\.\d\d%\.\.-?\d+\.\d\d%\]$/);
    expect(() => runTable({ ...o, seeds: 0 })).toThrow('--seeds takes a whole number >= 1');
  });

  it("sums a run's shared lines by kind over their instances, most transfers first", () => {
    const r = runTableRow({ vcpus: 3, vcpuBytes: 4 << 20, kernel: null, seed: 0 });
    const line = (kind: string, accesses: number, transfers: number, waitNs: number) => ({
      kind,
      accesses,
      transfers,
      remoteTransfers: 0,
      waitNs,
    });
    // Three vCPUs on socket 0; per page: two atomics on mmap_lock's count and on mmu_lock, one on
    // kvm->stat.pages, a load then a store of mmap_lock's owner. The memcg lines are two each (the
    // test's memcg and the root's page counters), the lruvec and zone locks one per node.
    expect(r.lines).toEqual([
      line('mmap_lock', 6144, 5063, 43558),
      line('mmu_lock', 6150, 3073, 358),
      line('kvm->stat.pages', 3073, 3064, 0),
      line('mmap_lock.owner', 3072, 3063, 43),
      line('lruvec->lru_lock', 216, 100, 0),
      line('memcg->memory.usage', 106, 98, 0),
      line('memcg->memory.watermark', 106, 98, 0),
      line('zone->lock', 60, 28, 0),
    ]);
  });

  it('rejects unknown kernels and bad vCPU lists', () => {
    expect(() => runTable({ vcpus: [1], vcpuBytes: 1 << 20, kernels: ['5.0'] })).toThrow(
      /unknown kernel '5.0'/,
    );
    expect(() => runTable({ vcpus: [], vcpuBytes: 1 << 20, kernels: ['6.15'] })).toThrow(/--vcpus/);
    expect(() => runTable({ vcpus: [1], vcpuBytes: 1 << 20, kernels: [], jobs: 0 })).toThrow(/--jobs/);
  });
});
