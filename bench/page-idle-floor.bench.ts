// Benchmark of the two floors under the page_idle mark phase (not a test). `mmulab access-tracking
// -v 16 -b 1G` makes 277 M rmap walks, so its 60 s target leaves 217 ns of wall time per walk.
// 1. The engine: 16 threads whose every walk is one sync point plus a read-lock and a read-unlock RMW
//    on one shared anon_vma line, with no other work.
// 2. The walk itself: page_idle_clear_pte_refs (rmap walk, ptep_clear_young_notify, KVM's hva-range
//    walk and kvm_age_gfn) on one thread of a small VM, so no sync points, no contention and a
//    working set that fits in the caches.
// One JavaScript thread runs both, so a walk costs at least their sum.
// Usage: npx tsx bench/page-idle-floor.bench.ts [threads] [walks] [chain pages] [chain passes]
import { followPteLockless } from '../src/host/gup.ts';
import { PG_LRU, PG_TAIL } from '../src/host/page-flags.ts';
import { Engine } from '../src/sim/engine.ts';
import { loadProfile } from '../src/sim/profile.ts';
import { QRwLock } from '../src/sync/rwlock.ts';
import { runOnVm, testGfn, vcpuAccess } from '../src/testing/vm-fixture.ts';

/** rmap walks that `npm run bench -- -v 16 -b 1G` counts (page_idle rmap walks). */
const WALKS_1G = 276_814_498;
const threads = Number(process.argv[2] ?? 16);
const walks = Number(process.argv[3] ?? 4_000_000);
const chainPages = Number(process.argv[4] ?? 65_536);
const chainPasses = Number(process.argv[5] ?? 40);

/** ns of wall time per walk for 16 marking threads' sync points and anon_vma RMWs alone. */
function engineFloor(): number {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const anonVma = new QRwLock(engine, 'anon_vma.rwsem', true);
  for (let i = 0; i < threads; i++)
    engine.spawn(`marker${i}`, function* (t) {
      for (let w = 0; w < walks / threads; w++) {
        if (t.mustSync()) yield;
        anonVma.readLock(t);
        t.advance(400);
        anonVma.readUnlock(t);
        t.advance(100);
      }
    });
  const t0 = performance.now();
  engine.run();
  const ns = ((performance.now() - t0) * 1e6) / walks;
  console.log(
    `engine: ${walks} walks by ${threads} threads, ${engine.steps} steps: ${ns.toFixed(0)} ns per walk`,
  );
  return ns;
}

/** ns of wall time per page_idle_clear_pte_refs of an idle, mapped page on one thread. */
function walkChain(): number {
  let ns = 0;
  runOnVm({ vcpuBytes: chainPages * 4096 }, function* (t, vm) {
    const vcpu = vm.kvm.vcpus[0];
    for (let i = 0; i < chainPages; i++) yield* vcpuAccess(t, vcpu, testGfn(vm, i), true);
    const f = vm.host.mem.flags;
    const heads: number[] = [];
    for (let i = 0; i < chainPages; i++) {
      const pfn = followPteLockless(vm.mm, vm.testVma.start + i * 4096, false);
      if (pfn > 0 && f[pfn] & PG_LRU && !(f[pfn] & PG_TAIL)) heads.push(pfn);
    }
    const pi = vm.pageIdle;
    // Warm-up passes clear the Accessed bits, as the mark phase's first walk of a page does.
    for (let r = 0; r < 3; r++) for (const pfn of heads) pi.clearPteRefs(t, pfn);
    const t0 = performance.now();
    for (let r = 0; r < chainPasses; r++) for (const pfn of heads) pi.clearPteRefs(t, pfn);
    ns = ((performance.now() - t0) * 1e6) / (heads.length * chainPasses);
    console.log(
      `walk: ${heads.length} pages x ${chainPasses} passes on one thread: ${ns.toFixed(0)} ns per walk`,
    );
  });
  return ns;
}

const floor = engineFloor();
const chain = walkChain();
const budget = (60e9 / WALKS_1G).toFixed(0);
console.log(
  `277 M walks (access-tracking -v 16 -b 1G) take at least ${((floor * WALKS_1G) / 1e9).toFixed(0)} s ` +
    `in the engine and ${((chain * WALKS_1G) / 1e9).toFixed(0)} s in the walks: ` +
    `${(((floor + chain) * WALKS_1G) / 1e9).toFixed(0)} s (60 s allows ${budget} ns per walk)`,
);
