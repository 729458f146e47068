import { describe, expect, it } from 'vitest';
import { EACCES, EINVAL } from '../../fs/errno.ts';
import { followPteLockless } from '../../host/gup.ts';
import { Host } from '../../host/host.ts';
import { madviseDontneed } from '../../host/madvise.ts';
import { PG_REFERENCED, PG_WORKINGSET } from '../../host/page-flags.ts';
import { Engine } from '../../sim/engine.ts';
import { loadProfile } from '../../sim/profile.ts';
import { runOnVm, testGfn, vcpuAccess } from '../../testing/vm-fixture.ts';
import { LRU_GEN_DEBUGFS, LRU_GEN_FULL_DEBUGFS, LruGenDebugfs } from './debugfs.ts';
import { folioLruGen } from './gen-flags.ts';
import { incMinSeq } from './gen-seq.ts';
import { LruGen } from './lru-gen.ts';
import { LruGenMmWalk } from './mm-walk.ts';
import { LRU_GEN_ENABLED, LRU_GEN_MIN_TTL_MS } from './sysfs.ts';

const dec = new TextDecoder();
const enc = new TextEncoder();
const PAGES = 1024;

describe('multi-gen LRU', () => {
  it('places faulted-in folios in max_seq - 1, gives a second chance, then promotes on aging', () => {
    const shows: string[] = [];
    const flags: number[] = [];
    const errs: number[] = [];
    const { vm } = runOnVm({ lruGen: true, vcpuBytes: PAGES * 4096 }, function* (t, vm) {
      const vcpu = vm.kvm.vcpus[0];
      const lg = vm.lruGen!;
      const show = function* () {
        const b = yield* vm.vfs.pread(t, LRU_GEN_DEBUGFS, 0, 1 << 16);
        shows.push(dec.decode(b as Uint8Array));
      };
      const age = function* (cmd: string) {
        errs.push(yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode(cmd)));
      };
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      lg.host.lru.drainAll(t);
      const pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      yield* show();
      yield* age('+ 2 0 3 1 1\n');
      flags.push(vm.host.mem.flags[pfn]);
      yield* show();
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      yield* age('+ 2 0 4 1 1');
      flags.push(vm.host.mem.flags[pfn]);
      yield* show();
      // No access since: a third pass leaves them where they are.
      yield* age('+ 2 0 5 1 1');
      yield* show();
      yield* age('+ 2 0 9 1 1'); // seq beyond max_seq
      yield* age('+ 7 0 6 1 1'); // no such memcg
      yield* age('+ 2 1 6 1 1'); // no such node
      yield* age('+ 2 0 6 202'); // swappiness over 201
      yield* age('* 2 0 6');
      yield* age('+ 2 0');
    });
    const lines = (s: string) =>
      s
        .split('\n')
        .filter((l) => l.startsWith('  '))
        .map((l) => l.trim().split(/ +/));
    const gens = (s: string) =>
      lines(s)
        .slice(-4)
        .map(([seq, , anon, file]) => [Number(seq), Number(anon), Number(file)]);
    // The test memcg (id 2) is listed after the root; all its pages sit in max_seq - 1 = 2.
    expect(shows[0]).toMatch(/^memcg {5}1 \/\n node {5}0\n/);
    expect(shows[0]).toMatch(/memcg {5}2 \/access_tracking_perf_test\n node {5}0\n/);
    // The test pages and the memslot-0 pages the library wrote from the host (S0) are all in 2.
    const S0 = vm.slot0Written;
    expect(S0).toBe(266);
    expect(gens(shows[0])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, PAGES + S0, 0],
      [3, 0, 0],
    ]);
    // KVM's fault marked the test folios accessed (kvm_release_page_* -> folio_mark_accessed sets
    // PG_referenced), so the first aging promotes them to max_seq (3), with PG_workingset. The
    // host-written pages were young in the host PTE only: a second chance, PG_referenced, no move.
    expect(folioLruGen(flags[0])).toBe(3);
    expect(flags[0] & (PG_REFERENCED | PG_WORKINGSET)).toBe(PG_WORKINGSET);
    expect(gens(shows[1])).toEqual([
      [1, 0, 0],
      [2, S0, 0],
      [3, PAGES, 0],
      [4, 0, 0],
    ]);
    // Re-accessed through the guest (SPTE Accessed bits) and aged again: promoted to 4.
    expect(folioLruGen(flags[1])).toBe(0);
    expect(flags[1] & PG_WORKINGSET).toBe(PG_WORKINGSET);
    expect(gens(shows[2])).toEqual([
      [2, S0, 0],
      [3, 0, 0],
      [4, PAGES, 0],
      [5, 0, 0],
    ]);
    // Not accessed since: the test pages stay in 4; generation 2 retires and inc_min_seq moves
    // its folios on to 3.
    expect(gens(shows[3])).toEqual([
      [3, S0, 0],
      [4, PAGES, 0],
      [5, 0, 0],
      [6, 0, 0],
    ]);
    expect(vm.lruGen!.stats.secondChance).toBe(S0);
    expect(errs).toEqual([12, 11, 11, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
    expect(vm.lruGen!.stats.promoted).toBe(2 * PAGES);
    // Promotion is lazy (folio_update_gen only rewrites the flags): the test folios were still on
    // generation 2's list when it retired, so inc_min_seq moved them too, to generation 4's list.
    expect(vm.lruGen!.stats.protectedMoves).toBe(S0 + PAGES);
  });

  it('a vCPU fault into the PTE table the aging walker holds waits for it (ptl), in both KVM aging modes', () => {
    const waits: Record<string, number[]> = {};
    for (const aging of ['lockless', 'write-lock'] as const) {
      let vcpuThread: { lockWaitNs(): number } | null = null;
      let waitedBefore = 0;
      const { vm } = runOnVm({ lruGen: true, vcpuBytes: PAGES * 4096, aging }, function* (t, vm, engine) {
        const vcpu = vm.kvm.vcpus[0];
        for (let i = 0; i < PAGES / 4; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
        vm.host.lru.drainAll(t);
        // An aging pass on another CPU while the vCPU faults in the rest of the first PTE table.
        engine.spawn(
          'aging',
          function* (a) {
            expect(yield* vm.vfs.pwrite(a, LRU_GEN_DEBUGFS, 0, enc.encode('+ 2 0 3 1 1'))).toBe(11);
          },
          t.now,
        );
        waitedBefore = t.lockWaitNs();
        vcpuThread = t;
        for (let i = PAGES / 4; i < PAGES / 2; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      });
      const ptl = vm.mm.ptl.stats;
      // Two PTE tables each of memslot 0 and of the test region, each taken once by the one walk.
      expect(ptl.writeAcquired).toBe(4);
      expect(ptl.writeContended).toBe(1);
      waits[aging] = [ptl.writeWaitNs, vcpuThread!.lockWaitNs() - waitedBefore];
    }
    // Lockless: the walker scanned the table in one step and the fault waited for the recorded
    // release; that is all of the vCPU's lock wait. Its LRU drains do not meet the walker's
    // lru_lock holds: walk_mm's reset_batch_size came while a drain held the lock and waited for
    // it, and inc_max_seq took the lock right after, before the vCPU's next drain.
    // Write-locked: the walker held the table across its per-PTE steps and the fault parked until
    // the unlock; that is all of the vCPU's lock wait (its mmu_lock reads met no write hold).
    expect(waits).toEqual({ lockless: [47630, 47630], 'write-lock': [52791, 52791] });
  });

  it('folio_update_gen gives a folio seen young for the first time a second chance', () => {
    runOnVm({ lruGen: true }, function* (t, vm) {
      yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, 0), true);
      vm.host.lru.drainAll(t);
      const lg = vm.lruGen!;
      const pfn = followPteLockless(vm.mm, vm.testVma.start, false);
      const l = lg.folioLruvec(pfn);
      vm.host.mem.flags[pfn] &= ~PG_REFERENCED;
      expect(lg.folioUpdateGen(pfn, 3)).toBe(-1);
      expect(folioLruGen(vm.host.mem.flags[pfn])).toBe(2);
      expect(vm.host.mem.flags[pfn] & PG_REFERENCED).toBe(PG_REFERENCED);
      const sizes = [...l.nrPages];
      expect(lg.folioUpdateGen(pfn, 3)).toBe(2);
      expect(folioLruGen(vm.host.mem.flags[pfn])).toBe(3);
      expect(vm.host.mem.flags[pfn] & (PG_REFERENCED | PG_WORKINGSET)).toBe(PG_WORKINGSET);
      // The flags only: the sizes move through a walker's batch (update_batch_size).
      expect([...l.nrPages]).toEqual(sizes);
      expect(lg.stats.secondChance).toBe(1);
    });
  });

  it('promotes lazily: the folio stays on its list until inc_min_seq sorts it; madvise takes it off', () => {
    runOnVm({ lruGen: true }, function* (t, vm) {
      for (let i = 0; i < 3; i++) yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      const lg = vm.lruGen!;
      const links = vm.host.mem.lruLinks!;
      const pfns = [0, 1, 2].map((i) => followPteLockless(vm.mm, vm.testVma.start + i * 4096, false));
      const l = lg.folioLruvec(pfns[0]);
      // All three on generation 2's list (max_seq - 1), the newest at the head.
      const list2 = l.folios[2 * 2];
      expect(list2.head).toBe(pfns[2]);
      // KVM's fault set PG_referenced: folio_update_gen moves the middle one to 3 in its flags, a
      // walker's batch then in the sizes; it stays on list 2 between the other two.
      expect(lg.folioUpdateGen(pfns[1], 3)).toBe(2);
      const walk = new LruGenMmWalk(l, l.maxSeq, 60, false);
      walk.updateBatchSize(0, 1, 2, 3);
      walk.resetBatchSize(t);
      expect(folioLruGen(vm.host.mem.flags[pfns[1]])).toBe(3);
      expect([l.pagesIn(3, 0), links.next[pfns[0]], links.next[pfns[1]]]).toEqual([1, pfns[1], pfns[2]]);
      expect(l.folios[3 * 2].empty).toBe(true);
      // Generation 2 retires (min_seq is 2 after the initial retirements): inc_min_seq takes the
      // list from its tail; folio_inc_gen leaves the promoted folio in 3, the others go to 3 too
      // (the next generation); each goes to the tail of list 3.
      while (l.minSeq[0] < 2) incMinSeq(lg, t, l, 0);
      const before = l.pagesIn(2, 0);
      incMinSeq(lg, t, l, 0);
      expect(before).toBe(l.pagesIn(3, 0) - 1);
      expect(list2.empty).toBe(true);
      const list3 = l.folios[3 * 2];
      // madvise(MADV_DONTNEED) frees the middle page: lru_gen_del_folio takes it off the list.
      const total = l.pagesIn(3, 0);
      madviseDontneed(t, vm.mm, vm.testVma.start + 4096, vm.testVma.start + 2 * 4096);
      expect(l.pagesIn(3, 0)).toBe(total - 1);
      expect(links.linked(pfns[1])).toBe(false);
      const order: number[] = [];
      for (let p = list3.popTail(); p >= 0; p = list3.popTail()) order.push(p);
      expect(order.length).toBe(total - 1);
      // list_move_tail one by one reverses the order: the last taken (the newest) comes out first.
      expect(order.slice(0, 2)).toEqual([pfns[2], pfns[0]]);
      expect(order.includes(pfns[1])).toBe(false);
    });
  });

  it('lru_gen_full shows the last four generations with tier rows and the mm-walk statistics', () => {
    let text = '';
    let ret = 0;
    const { vm } = runOnVm({ lruGen: true, vcpuBytes: PAGES * 4096 }, function* (t, vm) {
      for (let i = 0; i < PAGES; i++) yield* vcpuAccess(t, vm.kvm.vcpus[0], testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      yield* vm.vfs.pwrite(t, LRU_GEN_DEBUGFS, 0, enc.encode('+ 2 0 3 1 1'));
      text = dec.decode((yield* vm.vfs.pread(t, LRU_GEN_FULL_DEBUGFS, 0, 1 << 16)) as Uint8Array);
      ret = yield* vm.vfs.pwrite(t, LRU_GEN_FULL_DEBUGFS, 0, enc.encode('+ 2 0 4'));
    });
    const memcg2 = text.slice(text.indexOf('memcg     2'));
    const lines = memcg2.split('\n');
    // After one aging pass: min_seq 1, max_seq 4; lru_gen_full shows 1..4. The min_seq rows are
    // r/e/p, the middle generations' rows all 'x', the max_seq rows R/T/x.
    expect(lines[2]).toMatch(/^ {10}1 +\d+ {10}0 {11}0 $/);
    expect(lines[3]).toMatch(/^ {21}0( +0r +0e +0p){2}$/);
    const gen2 = lines.findIndex((l) => /^ {10}2 /.test(l));
    expect(lines[gen2 + 1]).toBe(`            ${'0'.padStart(10)}${' 0x'.padStart(12).repeat(6)}`);
    const gen4 = lines.findIndex((l) => /^ {10}4 /.test(l));
    expect(lines[gen4 + 1]).toMatch(/^ {21}0( +\d+R +\d+T +0x){2}$/);
    const walk = lines[gen4 + 5].trim().split(/ +/);
    expect(walk.map((w) => w.slice(-1))).toEqual(['T', 'Y', 'F', 'A']);
    // Young: the KVM-accessed test pages and the host-written memslot-0 pages.
    expect(Number(walk[1].slice(0, -1))).toBe(PAGES + vm.slot0Written);
    expect(ret).toBe(-EACCES);
  });

  it('v4: cap 0x8 switches the secondary-MMU walk at run time', () => {
    const gens: number[] = [];
    const reads: string[] = [];
    runOnVm({ lruGen: true, vcpuBytes: 64 * 4096 }, function* (t, vm) {
      const lg = vm.lruGen!;
      lg.secondaryMmuCap = true;
      lg.caps = lg.allCaps;
      const vcpu = vm.kvm.vcpus[0];
      const touch = function* () {
        for (let i = 0; i < 64; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), false);
      };
      const age = function* () {
        yield* vm.vfs.pwrite(
          t,
          LRU_GEN_DEBUGFS,
          0,
          enc.encode(`+ 2 0 ${lg.lruvec(vm.mm.memcg, 0).maxSeq} 1 1`),
        );
        gens.push(folioLruGen(vm.host.mem.flags[followPteLockless(vm.mm, vm.testVma.start, false)]));
      };
      for (let i = 0; i < 64; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
      vm.host.lru.drainAll(t);
      reads.push(dec.decode((yield* vm.vfs.pread(t, LRU_GEN_ENABLED, 0, 8)) as Uint8Array));
      yield* age(); // promoted: the fault left the host PTE young and PG_referenced
      yield* vm.vfs.pwrite(t, LRU_GEN_ENABLED, 0, enc.encode('0x7'));
      reads.push(dec.decode((yield* vm.vfs.pread(t, LRU_GEN_ENABLED, 0, 8)) as Uint8Array));
      yield* touch();
      yield* age(); // guest accesses are invisible without the secondary-MMU walk: stays
      yield* vm.vfs.pwrite(t, LRU_GEN_ENABLED, 0, enc.encode('y'));
      yield* touch();
      yield* age(); // seen again through clear_young: promoted
    });
    expect(reads).toEqual(['0x000f\n', '0x0007\n']);
    expect(gens).toEqual([3, 3, 1]);
  });

  it('debugfs skips nodes without memory and refuses commands naming them', () => {
    let text = '';
    let ret = 0;
    const e = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
    e.spawn('t', function* (t) {
      const host = new Host(e, { nodePages: [4096, 0] });
      const lg = new LruGen(host);
      const f = new LruGenDebugfs(lg);
      text = dec.decode((yield* f.read(t, 0, 4096)) as Uint8Array);
      ret = yield* f.write(t, 0, enc.encode('+ 1 1 3'));
    });
    e.run();
    expect(text.split('\n').filter((l) => l.startsWith(' node'))).toEqual([' node     0']);
    expect(ret).toBe(-EINVAL);
  });

  it('reads and writes /sys/kernel/mm/lru_gen/{enabled,min_ttl_ms} with the kernel formats and errnos', () => {
    const out: Array<string | number> = [];
    runOnVm({ lruGen: true }, function* (t, vm) {
      const rd = function* (path: string) {
        out.push(dec.decode((yield* vm.vfs.pread(t, path, 0, 64)) as Uint8Array));
      };
      const wr = function* (path: string, s: string) {
        out.push(yield* vm.vfs.pwrite(t, path, 0, enc.encode(s)));
      };
      yield* rd(LRU_GEN_ENABLED);
      yield* wr(LRU_GEN_ENABLED, 'n\n');
      yield* rd(LRU_GEN_ENABLED);
      yield* wr(LRU_GEN_ENABLED, '0x3\n');
      yield* rd(LRU_GEN_ENABLED);
      yield* wr(LRU_GEN_ENABLED, 'y');
      yield* rd(LRU_GEN_ENABLED);
      yield* wr(LRU_GEN_ENABLED, 'maybe');
      yield* wr(LRU_GEN_MIN_TTL_MS, '1000\n');
      yield* rd(LRU_GEN_MIN_TTL_MS);
      yield* wr(LRU_GEN_MIN_TTL_MS, '-1');
    });
    expect(out).toEqual([
      '0x0007\n',
      2,
      '0x0000\n',
      4,
      '0x0003\n',
      1,
      '0x0007\n',
      -EINVAL,
      5,
      '1000\n',
      -EINVAL,
    ]);
  });
});
