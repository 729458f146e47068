/**
 * Models no kernel file: the host a VM runs on, as booted for a run: RAM split over NUMA nodes, a
 * swap device, the multi-gen LRU with its sysfs and debugfs files, kswapd, the VMM's memcg with
 * memory.reclaim and memory.max, and /sys/kernel/mm/page_idle/bitmap.
 */
import { Vfs } from '../fs/vfs.ts';
import { Host } from '../host/host.ts';
import type { Memcg } from '../host/memcg.ts';
import { MemoryMaxFile, memoryMaxPath } from '../reclaim/memory-max.ts';
import { MemoryReclaimFile, memoryReclaimPath } from '../reclaim/memory-reclaim.ts';
import { LRU_GEN_DEBUGFS, LRU_GEN_FULL_DEBUGFS, LruGenDebugfs } from '../reclaim/mglru/debugfs.ts';
import { allocSlowpath, Kswapd } from '../reclaim/mglru/kswapd.ts';
import { LruGen } from '../reclaim/mglru/lru-gen.ts';
import { tryToFreeMemCgroupPages } from '../reclaim/mglru/shrink.ts';
import {
  LRU_GEN_ENABLED,
  LRU_GEN_MIN_TTL_MS,
  LruGenEnabledFile,
  LruGenMinTtlFile,
} from '../reclaim/mglru/sysfs.ts';
import { PAGE_IDLE_BITMAP, PageIdle } from '../reclaim/page-idle/page-idle.ts';
import type { Engine } from '../sim/engine.ts';
import { DEFAULT_KERNEL, type KernelVariant, kernelVariant } from '../variants/kernel-variant.ts';

/** The host's shape. */
export interface HostSpec {
  /** Host RAM in pages. */
  hostPages: number;
  /** Slots of a swap device (0: none). */
  swapPages?: number;
  /** Run with the multi-gen LRU, the VMM in memcg `memcgName`. */
  lruGen?: boolean;
  /** The kernel variant whose MGLRU design to follow (default: mainline 6.15). */
  kernel?: KernelVariant;
  /** Run kswapd (with lruGen): global reclaim at the watermarks, and min_ttl's OOM kill. */
  kswapd?: boolean;
  /** The VMM's memcg (with lruGen); default access_tracking_perf_test. */
  memcgName?: string;
}

/** A booted host, its files and the memcg the VMM will run in. */
export interface BootedHost {
  host: Host;
  vfs: Vfs;
  pageIdle: PageIdle;
  /** The memcg the VMM's mm is charged to (the root without lruGen). */
  memcg: Memcg;
  /** The multi-gen LRU (the host sees it as its `lruGen` hooks), null without lruGen. */
  lruGen: LruGen | null;
  /** The nodes' kswapd threads (pgdat->kswapd), empty unless kswapd runs. */
  kswapd: Kswapd[];
}

/**
 * Host memory split evenly over one NUMA node per socket. Pages are allocated on the faulting CPU's
 * node and fall back to the other nodes when it runs out (a 1-vCPU run spills over).
 */
export function splitNodes(pages: number, sockets: number): number[] {
  const n = Math.max(1, sockets);
  return Array.from({ length: n }, () => Math.ceil(pages / n));
}

/** Boots the host: memory, swap, MGLRU and kswapd if asked, the VMM's memcg and the files. */
export function bootHost(engine: Engine, spec: HostSpec): BootedHost {
  const p = engine.profile;
  const host = new Host(engine, {
    nodePages: splitNodes(spec.hostPages, p.sockets),
    swapPages: spec.swapPages ?? 0,
  });
  const vfs = new Vfs();
  let memcg = host.memcgs.root;
  let lruGen: LruGen | null = null;
  let kswapd: Kswapd[] = [];
  if (spec.lruGen) {
    const lg = new LruGen(host);
    lruGen = lg;
    lg.applyVariant(spec.kernel ?? kernelVariant(DEFAULT_KERNEL)!);
    host.lruGen = lg;
    host.memcgReclaim = (t, m, pages) => tryToFreeMemCgroupPages(t, lg, m, pages, null);
    vfs.register(LRU_GEN_ENABLED, new LruGenEnabledFile(lg));
    vfs.register(LRU_GEN_MIN_TTL_MS, new LruGenMinTtlFile(lg));
    vfs.register(LRU_GEN_DEBUGFS, new LruGenDebugfs(lg));
    vfs.register(LRU_GEN_FULL_DEBUGFS, new LruGenDebugfs(lg, true));
    if (spec.kswapd) {
      const daemons = host.mem.nodes.map((node) => new Kswapd(lg, node));
      for (const k of daemons) engine.spawn(`kswapd${k.node.nid}`, (kt) => k.run(kt), engine.now, k.node.nid);
      host.mem.kswapdWakeup = (wt, nid) => daemons[nid].wakeup(wt);
      kswapd = daemons;
      host.allocSlowpath = (at) => allocSlowpath(at, lg);
    }
    memcg = host.memcgs.create(`/${spec.memcgName ?? 'access_tracking_perf_test'}`, host.memcgs.root);
    for (const m of [host.memcgs.root, memcg])
      vfs.register(memoryReclaimPath(m), new MemoryReclaimFile(lg, m));
    vfs.register(memoryMaxPath(memcg), new MemoryMaxFile(lg, memcg));
  }
  const pageIdle = new PageIdle(host);
  vfs.register(PAGE_IDLE_BITMAP, pageIdle);
  return { host, vfs, pageIdle, memcg, lruGen, kswapd };
}
