import { describe, expect, it } from 'vitest';
import { followPteLockless } from '../../host/gup.ts';
import { OomKill } from '../../host/host.ts';
import { runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import { LRU_GEN_MIN_TTL_MS } from './sysfs.ts';

const enc = new TextEncoder();
const PAGES = 2048;
const value = (i: number) => Math.imul(i, 2654435761) >>> 0;

/** Host RAM of 2000 pages: the 8 MiB guest and its VMM need about 2330, so global reclaim must make room. */
const shortHost = () => 2000;

describe('kswapd', () => {
  it('wakes at the low watermark, reclaims to the high one, and no guest write is lost', () => {
    let lost = 0;
    // Faults that ran while kswapd balanced the node (ZONE_RECLAIM_ACTIVE: pcp lists capped).
    let whileBalancing = 0;
    const { vm } = runOnVm(
      { lruGen: true, vcpuBytes: PAGES * 4096, swapPages: 8192, hostPages: shortHost(), kswapd: true },
      function* (t, vm) {
        const vcpu = vm.kvm.vcpus[0];
        for (let pass = 0; pass < 2; pass++)
          for (let i = 0; i < PAGES; i++) {
            yield* vcpuAccess(t, vcpu, testGfn(vm, i), true, value(i) + pass);
            if (vm.host.mem.nodes[0].reclaimActive) whileBalancing++;
          }
        for (let i = 0; i < PAGES; i++) {
          yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
          if (vm.host.mem.data[followPteLockless(vm.mm, vm.testVma.start + i * 4096, false)] !== value(i) + 1)
            lost++;
        }
      },
    );
    const node = vm.host.mem.nodes[0];
    const k = vm.kswapd[0];
    // 2000 pages: min_free_kbytes = sqrt(8000 kB x 16) = 357 kB, 89 pages; low and high add
    // max(89 / 4, 2000 x 10 / 10000) = 22 pages each.
    expect([node.wmarkMin, node.wmarkLow, node.wmarkHigh]).toEqual([89, 111, 133]);
    expect(node.freePages()).toBeGreaterThan(node.wmarkMin);
    expect(k.stats.wakeups).toBeGreaterThan(0);
    expect(k.stats.balanceRuns).toBe(k.stats.wakeups);
    // set_reclaim_active while balance_pgdat runs, cleared when it returns.
    expect(whileBalancing).toBeGreaterThan(0);
    expect(node.reclaimActive).toBe(false);
    expect(k.stats.reclaimed).toBeGreaterThan(0);
    expect(k.stats.notReclaimable).toBe(0);
    expect(vm.host.swap!.swapOuts).toBeGreaterThanOrEqual(k.stats.reclaimed);
    // The fault path also reclaimed directly when kswapd fell behind.
    expect(vm.lruGen!.directReclaims).toBeGreaterThan(0);
    expect(lost).toBe(0);
  });

  it('with min_ttl_ms set and every generation younger, lru_gen_age_node invokes the OOM killer', () => {
    const run = () =>
      runOnVm(
        { lruGen: true, vcpuBytes: PAGES * 4096, swapPages: 8192, hostPages: shortHost(), kswapd: true },
        function* (t, vm) {
          expect(yield* vm.vfs.pwrite(t, LRU_GEN_MIN_TTL_MS, 0, enc.encode('60000'))).toBe(5);
          const vcpu = vm.kvm.vcpus[0];
          for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true, value(i));
        },
      );
    expect(run).toThrow(OomKill);
    expect(run).toThrow(
      /^Out of memory \(lru_gen min_ttl: every generation on node 0 is younger than 60000 ms\): Killed process \d+, anon-rss:\d+kB$/,
    );
  });
});
