/**
 * Models no kernel file: test support: differential fuzz targets for the simulated kernel
 * files.
 */
import type { SimFile } from '../fs/vfs.ts';
import { Host } from '../host/host.ts';
import { PG_IDLE, PG_LRU } from '../host/page-flags.ts';
import { MemoryReclaimFile } from '../reclaim/memory-reclaim.ts';
import { LruGenDebugfs } from '../reclaim/mglru/debugfs.ts';
import type { EvictResult } from '../reclaim/mglru/eviction.ts';
import { LruGen } from '../reclaim/mglru/lru-gen.ts';
import type { Lruvec } from '../reclaim/mglru/lruvec.ts';
import { LruGenEnabledFile, LruGenMinTtlFile } from '../reclaim/mglru/sysfs.ts';
import { PageIdle } from '../reclaim/page-idle/page-idle.ts';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import type { SimThread } from '../sim/thread.ts';
import {
  type LruGenEnv,
  type PageIdleEnv,
  refEnabledWrite,
  refLruGenWrite,
  refMemoryReclaimWrite,
  refMinTtlWrite,
  refPageIdleRead,
  refPageIdleWrite,
  stubAgingSucceeds,
  stubReclaim,
} from './kernel-file-reference.ts';

/**
 * Differential fuzzing of the simulated kernel files against kernel-file-reference.ts: each target
 * runs one input through the real file (on a small host, with the lruvec work below run_cmd and
 * try_to_free_mem_cgroup_pages stubbed) and through the reference, and says whether they agree.
 */

type Gen<R> = Generator<void, R, void>;

/** Runs a file operation to completion outside the engine's scheduler. */
function drive<R>(g: Gen<R>): R {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** lru_gen with the aging and eviction stubbed: they record what run_cmd asked for. */
class RecordingLruGenDebugfs extends LruGenDebugfs {
  calls: string[] = [];
  // biome-ignore lint/correctness/useYield: a stub.
  protected override *incMaxSeq(
    _t: SimThread,
    l: Lruvec,
    swappiness: number,
    forceScan: boolean,
  ): Gen<boolean> {
    this.calls.push(`age ${l.memcg.id} ${l.nid} ${swappiness} ${forceScan}`);
    return stubAgingSucceeds(swappiness);
  }
  // biome-ignore lint/correctness/useYield: a stub.
  protected override *evict(_t: SimThread, l: Lruvec, swappiness: number, nr: number): Gen<EvictResult> {
    this.calls.push(`evict ${l.memcg.id} ${l.nid} ${swappiness} ${nr}`);
    return { scanned: 0, reclaimed: 0 };
  }
}

/** memory.reclaim with try_to_free_mem_cgroup_pages stubbed. */
class RecordingMemoryReclaim extends MemoryReclaimFile {
  calls: string[] = [];
  // biome-ignore lint/correctness/useYield: a stub.
  protected override *tryToFree(_t: SimThread, batch: number, swappiness: number | null): Gen<number> {
    this.calls.push(`${batch} ${swappiness}`);
    return stubReclaim(batch);
  }
}

/** One fuzz target: the file's name and a check of one input (true: same as the reference). */
export interface FuzzTarget {
  name: string;
  check(input: Uint8Array, pos?: number): boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The targets, on a two-node host (node 1 without memory) with memcgs 1 (/) and 2 (/a). */
export function fuzzTargets(): FuzzTarget[] {
  const engine = new Engine({ profile: loadProfile('x86-tdp'), seed: 1 });
  const t = engine.spawn('fuzz', function* () {});
  const host = new Host(engine, { nodePages: [4096, 0] });
  const lg = new LruGen(host);
  const child = host.memcgs.create('/a', host.memcgs.root);
  lg.lruvec(child, 0).minSeq[0] = 2; // anon and file min_seq differ
  const env: LruGenEnv = {
    memcgIds: host.memcgs.all.map((m) => m.id),
    nodeHasMemory: host.mem.nodes.map((n) => n.endPfn > n.startPfn),
    seqs: (id, nid) => {
      const l = lg.lruvec(host.memcgs.byId(id)!, nid);
      return { maxSeq: l.maxSeq, minSeq: [...l.minSeq] };
    },
    defaultSwappiness: lg.getSwappiness(),
  };
  const debugfs = new RecordingLruGenDebugfs(lg);
  const enabled = new LruGenEnabledFile(lg);
  const minTtl = new LruGenMinTtlFile(lg);
  const reclaim = new RecordingMemoryReclaim(lg, child);
  const idle = new PageIdle(host);
  const mem = host.mem;
  const pageEnv: PageIdleEnv = { firstPfn: mem.firstPfn, maxPfn: mem.maxPfn, lru: new Set() };
  for (let pfn = mem.firstPfn; pfn < mem.maxPfn; pfn += 3) {
    mem.flags[pfn] |= PG_LRU;
    pageEnv.lru.add(pfn);
  }
  const write = (f: SimFile, data: Uint8Array, pos = 0) => drive(f.write!(t, pos, data));
  const readText = (f: SimFile) => new TextDecoder().decode(drive(f.read!(t, 0, 64)) as Uint8Array);
  return [
    {
      name: '/sys/kernel/debug/lru_gen',
      check: (data) => {
        debugfs.calls = [];
        const ret = write(debugfs, data);
        return same({ ret, calls: debugfs.calls }, refLruGenWrite(data, env));
      },
    },
    {
      name: '/sys/kernel/mm/lru_gen/enabled',
      check: (data) => {
        lg.caps = 0x5;
        const ret = write(enabled, data);
        const want = refEnabledWrite(data);
        return ret === want.ret && lg.caps === (want.caps === null ? 0x5 : want.caps & lg.allCaps);
      },
    },
    {
      name: '/sys/kernel/mm/lru_gen/min_ttl_ms',
      check: (data) => {
        lg.minTtl = 7n;
        const ret = write(minTtl, data);
        const want = refMinTtlWrite(data);
        return ret === want.ret && readText(minTtl) === `${want.readBack ?? 7}\n`;
      },
    },
    {
      name: '/sys/fs/cgroup/a/memory.reclaim',
      check: (data) => {
        reclaim.calls = [];
        const ret = write(reclaim, data);
        return same({ ret, calls: reclaim.calls }, refMemoryReclaimWrite(data));
      },
    },
    {
      name: '/sys/kernel/mm/page_idle/bitmap',
      check: (data, pos = 0) => {
        for (let pfn = mem.firstPfn; pfn < mem.maxPfn; pfn++) mem.flags[pfn] &= ~PG_IDLE;
        const ret = write(idle, data, pos);
        const want = refPageIdleWrite(pageEnv, pos, data);
        const marked: number[] = [];
        for (let pfn = mem.firstPfn; pfn < mem.maxPfn; pfn++) if (mem.flags[pfn] & PG_IDLE) marked.push(pfn);
        const got = drive(idle.read(t, pos, data.length));
        const wantRead = refPageIdleRead(pageEnv, new Set(marked), pos, data.length);
        return ret === want.ret && same(marked, want.marked) && same(got, wantRead);
      },
    },
  ];
}
