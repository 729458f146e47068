import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL } from '../../fs/errno.ts';
import { handleMmFault } from '../../host/fault.ts';
import { followPteLockless } from '../../host/gup.ts';
import { PG_WORKINGSET } from '../../host/page-flags.ts';
import { isSwapPte } from '../../host/page-table.ts';
import { rmapWalk } from '../../host/rmap.ts';
import { FILE_SHADOW, shmemSwapSlot } from '../../host/vma.ts';
import { leafSpte, runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import { LRU_GEN_DEBUGFS } from './debugfs.ts';
import { withGen } from './gen-flags.ts';
import { folioReferencedOne } from './look-around.ts';

const enc = new TextEncoder();
const PAGES = 1024;
const RECLAIM = '/sys/fs/cgroup/access_tracking_perf_test/memory.reclaim';
const value = (i: number) => Math.imul(i, 2654435761) >>> 0;

describe('MGLRU eviction', () => {
  it('memory.reclaim evicts cold folios to swap (KVM zaps them) and no guest write is lost on refault', () => {
    const seen: Record<string, number> = {};
    const { vm } = runOnVm({ lruGen: true, vcpuBytes: PAGES * 4096, swapPages: 8192 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true, value(i));
      vm.host.lru.drainAll(t);
      seen.ret = yield* vm.vfs.pwrite(t, RECLAIM, 0, enc.encode('2M'));
      let swapped = 0;
      for (let i = 0; i < PAGES; i++) {
        const hva = vm.testVma.start + i * 4096;
        const e = vm.mm.pt.entries[vm.mm.pt.walk(vm.mm.pgd, hva / 4096, 1, false)];
        if (isSwapPte(e)) {
          swapped++;
          // An evicted page has no SPTE left: KVM zapped it in invalidate_range_start.
          if (leafSpte(vm, testGfn(vm, i)) !== null) seen.staleSpte = (seen.staleSpte ?? 0) + 1;
        }
      }
      seen.swapped = swapped;
      let lost = 0;
      for (let i = 0; i < PAGES; i++) {
        yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
        if (vm.host.mem.data[followPteLockless(vm.mm, vm.testVma.start + i * 4096, false)] !== value(i))
          lost++;
      }
      seen.lost = lost;
    });
    const ev = vm.lruGen!.evictionStats;
    // 2 MiB = 512 pages asked; the batches reclaimed 530: first the memslot-0 pages the library
    // wrote (cold: never touched by the guest), then test pages.
    expect(seen.ret).toBe(2);
    expect(ev.reclaimed).toBe(530);
    expect(vm.host.swap!.swapOuts).toBe(530);
    expect(seen.swapped).toBe(530 - vm.slot0Written);
    expect(seen.staleSpte).toBeUndefined();
    expect(vm.kvm.stats.sptesZapped).toBe(seen.swapped);
    expect(vm.kvm.stats.invalidations).toBe(530);
    // Every evicted test page refaulted through KVM and the host, and read back what was written.
    expect(vm.host.faultStats.swapIn).toBe(seen.swapped);
    expect(ev.refaults).toBe(seen.swapped);
    expect(seen.lost).toBe(0);
    // After the refaults the memcg holds the test pages again; the memslot-0 pages stay in swap.
    expect(vm.host.memcgs.byId(2)!.pages).toBe(PAGES);
  });

  it('shmem: memory.reclaim writes page-cache pages to swap, unmaps them, and they come back intact', () => {
    const seen: Record<string, number> = {};
    const { vm } = runOnVm(
      { lruGen: true, vcpuBytes: PAGES * 4096, swapPages: 8192, backing: 'shmem' },
      function* (t, vm) {
        const vcpu = vm.kvm.vcpus[0];
        for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true, value(i));
        vm.host.lru.drainAll(t);
        seen.rssBefore = vm.mm.rss;
        yield* vm.vfs.pwrite(t, RECLAIM, 0, enc.encode('3M'));
        seen.swapOuts = vm.host.swap!.swapOuts;
        const file = vm.testVma.file!;
        let inSwap = 0;
        let mappedSwapped = 0;
        for (let i = 0; i < PAGES; i++) {
          if (shmemSwapSlot(file.pages[i]) < 0) continue;
          inSwap++;
          const e =
            vm.mm.pt.entries[vm.mm.pt.walk(vm.mm.pgd, (vm.testVma.start + i * 4096) / 4096, 1, false)];
          if (e !== 0 || leafSpte(vm, testGfn(vm, i)) !== null) mappedSwapped++;
        }
        seen.inSwap = inSwap;
        seen.mappedSwapped = mappedSwapped;
        seen.rssAfter = vm.mm.rss;
        let lost = 0;
        for (let i = 0; i < PAGES; i++) {
          yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
          if (vm.host.mem.data[file.pages[i]] !== value(i)) lost++;
        }
        seen.lost = lost;
      },
    );
    // Page-cache slots hold swap entries; no PTE or SPTE maps those pages any more.
    expect(seen.inSwap).toBeGreaterThan(0);
    expect(seen.mappedSwapped).toBe(0);
    // Every page written out was unmapped: the memslot-0 (anonymous) ones and the shmem ones.
    expect(seen.rssBefore - seen.rssAfter).toBe(seen.swapOuts);
    expect(vm.host.faultStats.swapIn).toBe(seen.inSwap);
    expect(vm.lruGen!.evictionStats.refaults).toBe(seen.inSwap);
    expect(seen.lost).toBe(0);
  });

  it('drops clean file pages without swap; they are read back from disk on the next fault', () => {
    const seen: Record<string, number> = {};
    const { vm } = runOnVm({ lruGen: true, vcpuBytes: 64 * 4096 }, function* (t, vm) {
      // A read-only mapping of a 1 MiB file (the VMM's own binary, say), read by the VMM.
      const v = vm.mm.mmap(256 * 4096, 'file', false);
      const file = v.file!;
      for (let i = 0; i < 256; i++) file.disk![i] = value(i);
      for (let i = 0; i < 256; i++) expect(handleMmFault(t, vm.mm, v.start + i * 4096, false)).toBe(0);
      vm.host.lru.drainAll(t);
      seen.rssBefore = vm.mm.rss;
      seen.ret = yield* vm.vfs.pwrite(t, RECLAIM, 0, enc.encode('512K'));
      let dropped = 0;
      let stillMapped = 0;
      for (let i = 0; i < 256; i++) {
        if (file.pages[i] !== FILE_SHADOW) continue;
        dropped++;
        if (vm.mm.pt.entries[vm.mm.pt.walk(vm.mm.pgd, v.start / 4096 + i, 1, false)] !== 0) stillMapped++;
      }
      seen.dropped = dropped;
      seen.stillMapped = stillMapped;
      seen.rssAfter = vm.mm.rss;
      let wrong = 0;
      for (let i = 0; i < 256; i++) {
        handleMmFault(t, vm.mm, v.start + i * 4096, false);
        if (vm.host.mem.data[file.pages[i]] !== value(i)) wrong++;
      }
      seen.wrong = wrong;
    });
    const ev = vm.lruGen!.evictionStats;
    expect(seen.ret).toBe(4);
    // Only file pages could go (no swap device): 128 pages asked, whole batches taken.
    expect(seen.dropped).toBe(ev.reclaimed);
    expect(seen.dropped).toBe(156);
    expect(seen.stillMapped).toBe(0);
    expect(seen.rssBefore - seen.rssAfter).toBe(seen.dropped);
    expect(vm.host.faultStats.fileReads).toBe(256 + seen.dropped);
    expect(ev.refaults).toBe(seen.dropped);
    expect(ev.recentRefaults).toBe(seen.dropped);
    expect(seen.wrong).toBe(0);
  });

  it('counts a refault as recent only while its eviction is within MAX_NR_GENS of max_seq', () => {
    const seen: Record<string, number> = {};
    const { vm } = runOnVm({ lruGen: true, vcpuBytes: PAGES * 4096, swapPages: 8192 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      const lg = vm.lruGen!;
      const l = lg.lruvec(vm.mm.memcg, 0);
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true, value(i));
      vm.host.lru.drainAll(t);
      seen.minSeqAtEviction = l.minSeq[0];
      yield* vm.vfs.pwrite(t, RECLAIM, 0, enc.encode('2M'));
      const swapped: number[] = [];
      for (let i = 0; i < PAGES; i++) {
        const e = vm.mm.pt.entries[vm.mm.pt.walk(vm.mm.pgd, (vm.testVma.start + i * 4096) / 4096, 1, false)];
        if (isSwapPte(e)) swapped.push(i);
      }
      seen.swapped = swapped.length;
      const half = swapped.length >> 1;
      // Refault the first half at once: recent.
      for (const i of swapped.slice(0, half)) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      seen.recentAfterFirst = lg.evictionStats.recentRefaults;
      // They were evicted with PG_workingset (set by lru_gen_set_refs when an earlier batch of the
      // reclaim found them young): tier 3, and the refault gives PG_workingset back.
      seen.tier3 = l.refaulted[3];
      seen.otherTiers = l.refaulted[0] + l.refaulted[1] + l.refaulted[2];
      seen.workingset = 0;
      for (const i of swapped.slice(0, half)) {
        const pfn = followPteLockless(vm.mm, vm.testVma.start + i * 4096, false);
        if (vm.host.mem.flags[pfn] & PG_WORKINGSET) seen.workingset++;
      }
      // Four aging passes move max_seq MAX_NR_GENS past the evictions' min_seq.
      for (let k = 0; k < 4; k++)
        yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode(`+ 2 0 ${l.maxSeq} 1 1`));
      seen.maxSeq = l.maxSeq;
      for (const i of swapped.slice(half)) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      seen.refaults = lg.evictionStats.refaults;
      seen.recent = lg.evictionStats.recentRefaults;
      let refaulted = 0;
      for (const n of l.refaulted) refaulted += n;
      seen.refaulted = refaulted;
      seen.avgRefaulted = l.avgRefaulted[3];
    });
    expect(seen.swapped).toBe(530 - vm.slot0Written);
    const half = seen.swapped >> 1;
    expect(seen.recentAfterFirst).toBe(half);
    expect([seen.tier3, seen.otherTiers, seen.workingset]).toEqual([half, 0, half]);
    expect(seen.maxSeq - seen.minSeqAtEviction).toBeGreaterThanOrEqual(4);
    expect(seen.refaults).toBe(seen.swapped);
    expect(seen.recent).toBe(half);
    // The aging passes moved min_seq, which folded refaulted[] into the averages (reset_ctrl_pos), and
    // the late refaults added nothing.
    expect(seen.refaulted).toBe(0);
    expect(seen.avgRefaulted).toBeGreaterThan(0);
  });

  it('under a memcg limit the guest keeps running: evictions, refaults, and every write survives', () => {
    let lost = 0;
    let maxRead = '';
    const { vm } = runOnVm({ lruGen: true, vcpuBytes: PAGES * 4096, swapPages: 8192 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      const max = '/sys/fs/cgroup/access_tracking_perf_test/memory.max';
      // The memcg holds the memslot-0 pages; allow it 600 more: 2.3 MiB for 4 MiB of guest memory.
      const limit = (vm.slot0Written + 600) * 4096;
      expect(yield* vm.vfs.pwrite(t, max, 0, enc.encode(String(limit)))).toBe(String(limit).length);
      maxRead = new TextDecoder().decode((yield* vm.vfs.pread(t, max, 0, 64)) as Uint8Array);
      for (let pass = 0; pass < 3; pass++) {
        for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true, value(i) + pass);
      }
      for (let i = 0; i < PAGES; i++) {
        yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
        if (vm.host.mem.data[followPteLockless(vm.mm, vm.testVma.start + i * 4096, false)] !== value(i) + 2)
          lost++;
      }
      expect(vm.mm.memcg.pages).toBeLessThanOrEqual(vm.slot0Written + 600);
    });
    expect(maxRead).toBe(`${(vm.slot0Written + 600) * 4096}\n`);
    expect(lost).toBe(0);
    expect(vm.mm.memcg.directReclaims).toBeGreaterThan(0);
    expect(vm.lruGen!.evictionStats.reclaimed).toBeGreaterThan(PAGES);
    expect(vm.host.faultStats.swapIn).toBeGreaterThan(PAGES);
    expect(vm.kvm.stats.sptesZapped).toBeGreaterThan(PAGES);
  });

  it('look-around at eviction asks KVM about the neighbours and activates the young ones', () => {
    const r: Record<string, number | boolean> = {};
    runOnVm({ lruGen: true, vcpuBytes: 64 * 4096, swapPages: 4096 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      const lg = vm.lruGen!;
      const l = lg.lruvec(vm.mm.memcg, 0);
      for (let i = 0; i < 64; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      // Two aging passes: the test pages are promoted (PG_workingset) and then left in place.
      for (let k = 0; k < 2; k++)
        yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode(`+ 2 0 ${l.maxSeq} 1 1`));
      for (let i = 0; i < 64; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      const before = lg.stats.promoted;
      const calls = vm.kvm.stats.ageGfnCalls;
      const pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      // Isolated for eviction: off its generation, so the window skips it.
      vm.host.mem.flags[pfn] = withGen(vm.host.mem.flags[pfn], -1);
      rmapWalk(t, vm.host, pfn, lg.hit, (tt, hit) => {
        r.referenced = folioReferencedOne(tt, lg, l, hit);
      });
      r.activated = lg.stats.promoted - before;
      r.kvmCalls = vm.kvm.stats.ageGfnCalls - calls;
    });
    // The folio was young through KVM, and its 63 neighbours in the page table were too: each was
    // asked about through clear_young and moved to the youngest generation.
    expect(r).toEqual({ referenced: true, activated: 63, kvmCalls: 64 });
  });

  it('memory.reclaim and the debugfs `-` command return the kernel errnos', () => {
    const rs: number[] = [];
    runOnVm({ lruGen: true, vcpuBytes: 64 * 4096, swapPages: 4096 }, function* (t, vm) {
      for (let i = 0; i < 64; i++) yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, i), true);
      const w = function* (path: string, s: string) {
        rs.push(yield* vm.vfs.pwrite(t, path, 0, enc.encode(s)));
      };
      yield* w(LRU_GEN_DEBUGFS, '- 2 0 2'); // seq + 2 > max_seq (3)
      yield* w(LRU_GEN_DEBUGFS, '- 2 0 1 60 10'); // generations up to 1 are empty: nothing to evict
      rs.push(vm.host.swap!.swapOuts);
      yield* w(RECLAIM, 'swappiness=5'); // no size
      yield* w(RECLAIM, '1M foo=1'); // unknown key
      yield* w(RECLAIM, '1M swappiness=201'); // out of range
      yield* w(RECLAIM, '64K swappiness=0'); // file only, and there are no file pages
      yield* w(RECLAIM, '64K swappiness=max'); // anon only
      rs.push(vm.host.swap!.swapOuts);
    });
    // 64K asks for 16 pages; try_to_free_mem_cgroup_pages works in at least SWAP_CLUSTER_MAX (32)
    // and whole eviction batches, so it over-reclaims, as the kernel documents.
    expect(rs).toEqual([-EINVAL, 13, 0, -EINVAL, -EINVAL, -EINVAL, -EAGAIN, 18, 63]);
  });
});
