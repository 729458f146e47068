/**
 * `mmulab micro line-contention`: N CPUs doing atomic read-modify-writes on one shared cache line
 * (lock xadd / lock cmpxchg on one word), on the profile's topology, as a check of the profile's
 * line costs against published core-to-core hand-off times (references/micro-line-contention.yaml).
 * Models no kernel file: it exercises `sim/cache-line.ts` the way a user-space benchmark does.
 */
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import { checkThreadCount, MicroOptionsError } from './micro-options.ts';

/** Where the threads run: one socket, alternating sockets, SMT sibling pairs, or as forked. */
export const LINE_PLACEMENTS = ['same-socket', 'cross-socket', 'smt', 'spread'] as const;
export type LinePlacement = (typeof LINE_PLACEMENTS)[number];

/** Options of `runLineContention`. */
export interface LineContentionOptions {
  threads: number;
  placement: LinePlacement;
  /** RMWs per thread. */
  rmwsPerThread?: number;
  seed?: number;
}

/** What a line-contention run measured (all simulated). */
export interface LineContentionResult {
  profile: string;
  threads: number;
  placement: LinePlacement;
  cpus: number[];
  rmws: number;
  elapsedNs: number;
  /** Time per RMW on the line: with two threads in turn, one hand-off of the line. */
  nsPerRmw: number;
  /** RMWs per second on the line, all threads together. */
  rmwsPerSec: number;
  /** Mean time one thread waits for and does one RMW. */
  nsPerOpPerThread: number;
  transfers: number;
  remoteTransfers: number;
}

/** The CPUs the threads are pinned to, as the reference benchmarks pin them. */
export function placeThreads(p: CostProfile, threads: number, placement: LinePlacement): number[] {
  const sockets = p.sockets;
  const cores = p.coresPerSocket;
  checkThreadCount(p, threads);
  const out: number[] = [];
  if (placement === 'same-socket') {
    if (threads > cores * p.threadsPerCore)
      throw new MicroOptionsError(
        `--threads ${threads}: a socket of ${p.name} has ${cores * p.threadsPerCore} CPUs`,
      );
    // Physical cores of socket 0 first, then their SMT siblings (Linux x86 numbering).
    for (let i = 0; i < threads; i++) out.push(i < cores ? i : sockets * cores + (i - cores));
  } else if (placement === 'cross-socket') {
    if (sockets < 2)
      throw new MicroOptionsError(`--placement cross-socket: profile ${p.name} has one socket`);
    if (threads > sockets * cores)
      throw new MicroOptionsError(
        `--threads ${threads}: cross-socket placement uses physical cores only (${sockets * cores})`,
      );
    for (let i = 0; i < threads; i++) out.push((i % sockets) * cores + Math.floor(i / sockets));
  } else if (placement === 'smt') {
    if (p.threadsPerCore < 2) throw new MicroOptionsError(`--placement smt: profile ${p.name} has no SMT`);
    for (let i = 0; i < threads; i++) out.push((i >> 1) + (i & 1) * sockets * cores);
  } else for (let i = 0; i < threads; i++) out.push(-1);
  return out;
}

/**
 * Runs N threads that each do `rmwsPerThread` RMWs back to back on one line. The line serialises
 * them: with two threads each RMW waits for the other's, so the time per RMW is one hand-off.
 */
export function runLineContention(
  o: LineContentionOptions,
  profileOrName: CostProfile | string = 'seed003-x86',
): LineContentionResult {
  const profile = typeof profileOrName === 'string' ? loadProfile(profileOrName) : profileOrName;
  const cpus = placeThreads(profile, o.threads, o.placement);
  const per = o.rmwsPerThread ?? 1000;
  const engine = new Engine({ profile, seed: o.seed ?? 0 });
  const line = engine.sharedLine('contended line');
  const placed: number[] = [];
  let end = 0;
  cpus.forEach((cpu, i) => {
    engine.spawn(
      `cpu${i}`,
      function* (t) {
        placed[i] = t.cpu;
        for (let k = 0; k < per; k++) {
          line.rmwBy(t);
          if (t.mustSync()) yield;
        }
        if (t.now > end) end = t.now;
      },
      0,
      -1,
      cpu,
    );
  });
  engine.run();
  const rmws = per * o.threads;
  return {
    profile: profile.name,
    threads: o.threads,
    placement: o.placement,
    cpus: placed,
    rmws,
    elapsedNs: end,
    nsPerRmw: end / rmws,
    rmwsPerSec: (rmws / end) * 1e9,
    nsPerOpPerThread: end / per,
    transfers: line.transfers,
    remoteTransfers: line.remoteTransfers,
  };
}
