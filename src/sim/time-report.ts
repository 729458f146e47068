/**
 * Models no kernel file: the report of where simulated time went, per thread class, lock and
 * shared cache line (perf report / perf c2c style).
 */
import type { Engine } from './engine.ts';

/** Where one thread's simulated time went. */
export interface ThreadTime {
  thread: string;
  /** Thread class: the name without its instance number (`vcpu`, `kswapd`, `main`). */
  class: string;
  elapsedNs: number;
  /** Nanoseconds per time category, non-zero ones only, largest first. */
  categories: Record<string, number>;
}

/** One thread class: its threads' times added up. */
export interface ClassTime {
  class: string;
  threads: number;
  elapsedNs: number;
  categories: Record<string, number>;
}

/** One shared cache line's traffic (`perf c2c`'s view of a contended line). */
export interface LineReport {
  line: string;
  /** What the line holds, shared by its instances (one per mm, memcg, node): `mmap_lock`, `zone->lock`. */
  kind: string;
  /** Accesses (RMWs, stores, a load then a store), those that found the line in their CPU's cache included. */
  accesses: number;
  /** Accesses that pulled the line from another CPU's cache, and of those, from another socket. */
  transfers: number;
  remoteTransfers: number;
  /** Time RMWs waited for the line before their own transfer, in total and at most. */
  waitNs: number;
  maxWaitNs: number;
  /** Most RMWs one RMW found ahead of it. */
  maxQueue: number;
  busyNs: number;
}

/** One lock's acquisitions and waits (both sides added up), and queueing on its lock word. */
export interface LockReport {
  lock: string;
  acquired: number;
  contended: number;
  waitNs: number;
  maxWaitNs: number;
  /** Time atomics on the lock word waited for its line (not counted in `waitNs`). */
  lineWaitNs: number;
  /** Most atomics one found queued ahead of it on the lock word. */
  maxQueue: number;
}

/** Where the simulated time of a run went, per thread, per thread class and per shared line. */
export interface TimeReport {
  /** Locks with at least one acquisition, most waited-on (spinning plus line queueing) first. */
  locks: LockReport[];
  threads: ThreadTime[];
  classes: ClassTime[];
  /** Lines with at least one RMW, most waited-on first. */
  lines: LineReport[];
}

/** The class of a thread named `name`: the name without a trailing instance number. */
export function threadClass(name: string): string {
  return name.replace(/\d+$/, '') || name;
}

function sortedRecord(m: Map<string, number>): Record<string, number> {
  const e = [...m.entries()].filter(([, v]) => v !== 0);
  e.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(e);
}

/** Collects the time report of `engine` after a run. */
export function timeReport(engine: Engine): TimeReport {
  const names = engine.categories.names;
  const threads: ThreadTime[] = [];
  const classes = new Map<string, { threads: number; elapsedNs: number; cats: Map<string, number> }>();
  for (const t of engine.threads) {
    const cats = new Map<string, number>();
    for (let i = 0; i < names.length; i++) if (t.acct[i] !== 0) cats.set(names[i], t.acct[i]);
    const cls = threadClass(t.name);
    const elapsedNs = t.now - t.startNs;
    threads.push({ thread: t.name, class: cls, elapsedNs, categories: sortedRecord(cats) });
    let c = classes.get(cls);
    if (c === undefined) {
      c = { threads: 0, elapsedNs: 0, cats: new Map() };
      classes.set(cls, c);
    }
    c.threads++;
    c.elapsedNs += elapsedNs;
    for (const [k, v] of cats) c.cats.set(k, (c.cats.get(k) ?? 0) + v);
  }
  const lines: LineReport[] = [];
  for (const l of engine.lines) {
    if (l.accesses === 0) continue;
    lines.push({
      line: l.name,
      kind: names[l.cat].slice('line '.length),
      accesses: l.accesses,
      transfers: l.transfers,
      remoteTransfers: l.remoteTransfers,
      waitNs: l.waitNs,
      maxWaitNs: l.maxWaitNs,
      maxQueue: l.maxQueue,
      busyNs: l.busyNs,
    });
  }
  const locks: LockReport[] = [];
  for (const k of engine.locks) {
    const s = k.stats;
    const acquired = s.readAcquired + s.writeAcquired;
    if (acquired === 0) continue;
    locks.push({
      lock: k.name,
      acquired,
      contended: s.readContended + s.writeContended,
      waitNs: s.readWaitNs + s.writeWaitNs,
      maxWaitNs: Math.max(s.readMaxWaitNs, s.writeMaxWaitNs),
      lineWaitNs: k.line?.waitNs ?? 0,
      maxQueue: k.line?.maxQueue ?? 0,
    });
  }
  const waited = (r: LockReport) => r.waitNs + r.lineWaitNs;
  locks.sort((a, b) => waited(b) - waited(a) || b.acquired - a.acquired || (a.lock < b.lock ? -1 : 1));
  lines.sort((a, b) => b.waitNs - a.waitNs || b.accesses - a.accesses || (a.line < b.line ? -1 : 1));
  return {
    locks,
    threads,
    classes: [...classes.entries()].map(([cls, c]) => ({
      class: cls,
      threads: c.threads,
      elapsedNs: c.elapsedNs,
      categories: sortedRecord(c.cats),
    })),
    lines,
  };
}

function pad(s: string | number, w: number): string {
  return String(s).padStart(w);
}

/**
 * The report as text: per thread class a `perf report`-like table (share of the class's elapsed
 * time, nanoseconds, category), then the locks and the hottest shared lines (`perf c2c`-like).
 */
export function formatTimeReport(r: TimeReport, top = 10): string {
  const out: string[] = ['# Where the simulated time went (per thread class; all times simulated)'];
  for (const c of r.classes) {
    out.push('#', `# ${c.class}: ${c.threads} thread(s), ${c.elapsedNs} ns in all`);
    out.push(`# ${pad('Share', 8)}  ${pad('Simulated ns', 14)}  Category`);
    for (const [name, ns] of Object.entries(c.categories)) {
      const share = c.elapsedNs > 0 ? ((100 * ns) / c.elapsedNs).toFixed(2) : '0.00';
      out.push(`  ${pad(`${share}%`, 8)}  ${pad(ns, 14)}  ${name}`);
    }
  }
  out.push(
    '#',
    '# Locks, most waited-on first (wait: spinning or sleeping; line wait: queued on the lock word)',
  );
  out.push(
    `# ${'Lock'.padEnd(24)} ${pad('Acquired', 10)} ${pad('Contended', 10)} ${pad('Wait ns', 14)} ${pad('Max wait', 10)} ${pad('Line wait ns', 14)} ${pad('Max queue', 9)}`,
  );
  for (const k of r.locks.slice(0, top))
    out.push(
      `  ${k.lock.padEnd(24)} ${pad(k.acquired, 10)} ${pad(k.contended, 10)} ${pad(k.waitNs, 14)} ${pad(k.maxWaitNs, 10)} ${pad(k.lineWaitNs, 14)} ${pad(k.maxQueue, 9)}`,
    );
  out.push('#', '# Shared cache lines, most waited-on first (perf c2c style)');
  out.push(
    `# ${'Line'.padEnd(24)} ${pad('Accesses', 10)} ${pad('Transfers', 10)} ${pad('Remote', 10)} ${pad('Wait ns', 14)} ${pad('Max wait', 10)} ${pad('Max queue', 9)} ${pad('Busy ns', 12)}`,
  );
  for (const l of r.lines.slice(0, top))
    out.push(
      `  ${l.line.padEnd(24)} ${pad(l.accesses, 10)} ${pad(l.transfers, 10)} ${pad(l.remoteTransfers, 10)} ${pad(l.waitNs, 14)} ${pad(l.maxWaitNs, 10)} ${pad(l.maxQueue, 9)} ${pad(l.busyNs, 12)}`,
    );
  return out.join('\n');
}
