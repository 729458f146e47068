/**
 * Models no kernel file: the two ways lost-write explores interleavings. Random: seeded streams
 * pick each step's thread, the guest's accesses and reclaim's victims. Systematic: a fixed small
 * guest (read then write each page, then write each again) and every choice of thread for the
 * first `depth` steps (3^depth schedules; one that picks a vCPU with nothing left is skipped), so
 * that every ordering of faults, fast-path fixes, cleans, I/O completions and reclaim around each
 * clean within that bound is checked, then the VM's end.
 */
import type { AdPolicy } from '../../kvm/ad-policy.ts';
import type { GuestAccess } from './actors.ts';
import {
  type LostWriteRunResult,
  randomChooser,
  randomProgram,
  randomStreams,
  runSchedule,
} from './explorer.ts';
import type { LostWriteOptions } from './options.ts';

/** The runs of one policy and write-notify setting, summed. */
export interface LostWriteSummary {
  policy: string;
  writenotify: boolean;
  /** Schedules run (random: seeds; systematic: schedules not skipped). */
  runs: number;
  writes: number;
  pagesWritten: number;
  unneededWritebacks: number;
  pagesDropped: number;
  fastPageFaults: number;
  lostWrites: number;
  /** Runs that lost at least one write. */
  runsWithLoss: number;
  /** The first lost write found: its run (seed, or schedule as thread letters) and finding. */
  first: { run: string; lost: LostWriteRunResult['lost'][number] } | null;
}

function emptySummary(policy: AdPolicy, writenotify: boolean): LostWriteSummary {
  return {
    policy: policy.name,
    writenotify,
    runs: 0,
    writes: 0,
    pagesWritten: 0,
    unneededWritebacks: 0,
    pagesDropped: 0,
    fastPageFaults: 0,
    lostWrites: 0,
    runsWithLoss: 0,
    first: null,
  };
}

function add(s: LostWriteSummary, r: LostWriteRunResult, run: string): void {
  s.runs++;
  s.writes += r.writes;
  s.pagesWritten += r.pagesWritten;
  s.unneededWritebacks += r.unneededWritebacks;
  s.pagesDropped += r.pagesDropped;
  s.fastPageFaults += r.fastPageFaults;
  s.lostWrites += r.lost.length;
  if (r.lost.length > 0) {
    s.runsWithLoss++;
    s.first ??= { run, lost: r.lost[0] };
  }
}

/** What every schedule of a run shares: the policy, the mapping and the VM's options. */
function scheduleBase(o: LostWriteOptions, policy: AdPolicy, writenotify: boolean) {
  return { policy, writenotify, pages: o.pages, tdpMmu: o.mmu === 'tdp', eptAd: o.eptAd };
}

/** Seeds 1..o.seeds, each a random schedule of o.steps steps. */
export function runRandom(o: LostWriteOptions, policy: AdPolicy, writenotify: boolean): LostWriteSummary {
  const s = emptySummary(policy, writenotify);
  for (let seed = 1; seed <= o.seeds; seed++) {
    const rs = randomStreams(seed);
    const r = runSchedule({
      ...scheduleBase(o, policy, writenotify),
      seed,
      program: randomProgram(rs.program, o.pages),
      reclaimPick: () => rs.reclaim.nextInt(o.pages),
      choose: randomChooser(rs.sched, o.steps),
    });
    add(s, r!, `seed ${seed}`);
  }
  return s;
}

/** The systematic guest: read then write each page, then write each page again. */
export function systematicProgram(pages: number): GuestAccess[] {
  const prog: GuestAccess[] = [];
  for (let i = 0; i < pages; i++) prog.push({ page: i, write: false }, { page: i, write: true });
  for (let i = 0; i < pages; i++) prog.push({ page: i, write: true });
  return prog;
}

/** Thread letters of a schedule, as the report shows it: v(CPU), f(lusher), r(eclaim). */
const LETTERS = 'vfr';

/** Every schedule of o.depth steps over the three threads. */
export function runSystematic(o: LostWriteOptions, policy: AdPolicy, writenotify: boolean): LostWriteSummary {
  const s = emptySummary(policy, writenotify);
  const prog = systematicProgram(o.pages);
  const total = 3 ** o.depth;
  for (let n = 0; n < total; n++) {
    let next = 0;
    let victim = 0;
    const digits: number[] = [];
    for (let k = 0, x = n; k < o.depth; k++, x = Math.floor(x / 3)) digits.push(x % 3);
    const r = runSchedule({
      ...scheduleBase(o, policy, writenotify),
      seed: 1,
      program: () => (next < prog.length ? prog[next++] : null),
      reclaimPick: () => victim++ % o.pages,
      choose: (step) => (step < o.depth ? digits[step] : -1),
    });
    if (r !== null) add(s, r, `schedule ${digits.map((d) => LETTERS[d]).join('')}`);
  }
  return s;
}

/** Every policy and write-notify setting the options name, random or systematic. */
export function runLostWrite(o: LostWriteOptions): LostWriteSummary[] {
  const out: LostWriteSummary[] = [];
  for (const policy of o.policies)
    for (const wn of o.writenotify)
      out.push(o.systematic ? runSystematic(o, policy, wn) : runRandom(o, policy, wn));
  return out;
}
