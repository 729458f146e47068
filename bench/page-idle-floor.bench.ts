// Benchmark of the engine's floor for the page_idle mark phase (not a test): 16 threads whose every
// rmap walk is one sync point plus a read-lock and a read-unlock RMW on one shared anon_vma line,
// with no other work. It bounds from below what `mmulab access-tracking -v 16 -b 1G` can take: that
// run makes 277 M such walks. Usage: npx tsx bench/page-idle-floor.bench.ts [threads] [walks]
import { Engine } from '../src/sim/engine.ts';
import { loadProfile } from '../src/sim/profile.ts';
import { QRwLock } from '../src/sync/rwlock.ts';

const threads = Number(process.argv[2] ?? 16);
const walks = Number(process.argv[3] ?? 4_000_000);
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
const ms = performance.now() - t0;
const nsPerWalk = (ms * 1e6) / walks;
console.log(
  `${walks} walks by ${threads} threads: ${engine.steps} engine steps, ${nsPerWalk.toFixed(0)} ns per walk`,
);
console.log(
  `277 M walks (access-tracking -v 16 -b 1G) would take at least ${((nsPerWalk * 277e6) / 1e9).toFixed(0)} s`,
);
