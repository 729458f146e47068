/**
 * Models mm/page_alloc.c: the page allocator (alloc_pages through rmqueue_pcplist / rmqueue_bulk,
 * __free_pages, the zone watermarks) over per-frame state kept by pfn.
 */
import type { Engine } from '../sim/engine.ts';
import type { SimThread } from '../sim/thread.ts';
import { LruLinks } from './lru-list.ts';
import { NumaNode } from './numa-node.ts';
import { PG_ALLOCATED, PG_RESERVED } from './page-flags.ts';
import { PageRefs } from './page-ref.ts';
import { PTE_MAX_PFN } from './page-table.ts';
import { PerCpuPages } from './pcp.ts';

/**
 * Bytes of host state per physical frame: flags 4 (with the rmap mapping id and the memcg id packed
 * in), index 4, reference count 4; plus 4 for the content word when content is tracked
 * (`CONTENT_BYTES_PER_FRAME`).
 */
export const BYTES_PER_FRAME = 12;
/** The first frame of node 0; the frames below it are holes (reserved). */
export const FIRST_NODE_PFN = 0x1000;
export const CONTENT_BYTES_PER_FRAME = 4;
/**
 * The flags word: page flags in bits 0-12, MGLRU's gen and refs fields in 13-17 (gen-flags.ts),
 * the rmap mapping id (folio->mapping, as an id) in 18-24 and the charged memcg's id
 * (folio->memcg_data) in 25-31: 127 of each, so that page_fault1 can run one process per CPU of a
 * 112-CPU machine.
 */
const MAPPING_SHIFT = 18;
const MEMCG_SHIFT = 25;
const MAPPING_MASK = ((1 << (MEMCG_SHIFT - MAPPING_SHIFT)) - 1) << MAPPING_SHIFT;
const MEMCG_MASK = ~((1 << MEMCG_SHIFT) - 1);
/** Highest memcg id a frame can record. */
export const MAX_MEMCG_ID = (1 << (32 - MEMCG_SHIFT)) - 1;
/** Highest rmap mapping id a frame can record. */
export const MAX_MAPPING_ID = (1 << (MEMCG_SHIFT - MAPPING_SHIFT)) - 1;
/**
 * Physical memory: per-frame state as struct-of-arrays indexed by pfn, NUMA nodes with pfn ranges,
 * and a page allocator with per-CPU lists (mm/page_alloc.c: rmqueue_pcplist / rmqueue_bulk).
 * Frames below the first node are holes (reserved); the first frame of node 0 is the zero page.
 */
export class PhysMem {
  /** Page flags (page-flags.ts, gen-flags.ts) in the low 22 bits; the charged memcg's id above. */
  readonly flags: Uint32Array;
  /** Page offset inside that mapping (folio->index). */
  readonly index: Uint32Array;
  /**
   * The page's content, reduced to the last 32-bit value written to it, to check swap and file
   * round trips. Empty (writes ignored) until `trackContent` is called: runs without swap or files
   * never read it back, and save its 4 bytes per frame.
   */
  data: Uint32Array = new Uint32Array(0);
  /** Frames memory_failure marked hardware-poisoned (PageHWPoison; no flag bit is left free). */
  readonly hwpoison = new Set<number>();
  /** Each frame's reference count (struct page's _refcount). */
  readonly refs: PageRefs;
  readonly nodes: NumaNode[] = [];
  readonly maxPfn: number;
  readonly zeroPfn: number;
  /** Per-CPU free lists of order-0 pages, per node's zone: `pcpLists[nid][cpu]`. */
  private readonly pcpLists: number[][][] = [];
  /** Each node's lists' tuning: how much a refill takes and a free gives back (pcp.ts). */
  readonly pcps: PerCpuPages[] = [];
  /** wakeup_kswapd, set when kswapd runs: called when an allocation leaves a node below its low watermark. */
  kswapdWakeup: ((t: SimThread, nid: number) => void) | null = null;

  constructor(
    readonly engine: Engine,
    nodePages: number[],
    readonly firstPfn = FIRST_NODE_PFN,
  ) {
    let pfn = firstPfn;
    for (let nid = 0; nid < nodePages.length; nid++) {
      this.nodes.push(new NumaNode(engine, nid, pfn, pfn + nodePages[nid]));
      pfn += nodePages[nid];
    }
    if (pfn > PTE_MAX_PFN) throw new Error(`host memory of ${pfn} pages exceeds what a host PTE can address`);
    this.maxPfn = pfn;
    this.flags = new Uint32Array(pfn);
    this.index = new Uint32Array(pfn);
    this.flags.fill(PG_RESERVED, 0, firstPfn);
    this.zeroPfn = this.nodes[0].next++;
    this.flags[this.zeroPfn] = PG_RESERVED;
    this.refs = new PageRefs(pfn, this.flags);
    this.refs.count.fill(1, 0, firstPfn);
    this.refs.count[this.zeroPfn] = 1;
    this.refs.freeOrphan = (head, order) => this.releaseFrames(head, order);
    for (let nid = 0; nid < this.nodes.length; nid++) {
      this.pcpLists.push(Array.from({ length: engine.cpuCount }, () => []));
      this.pcps.push(new PerCpuPages(engine.cpuCount, engine.profile.pcpBatch, true));
    }
  }

  /** The frames' LRU list links, created when the multi-gen LRU is enabled. */
  lruLinks: LruLinks | null = null;

  /** Creates the frames' LRU list links (4 bytes per frame) if they do not exist yet. */
  enableLruLinks(): LruLinks {
    if (this.lruLinks === null) this.lruLinks = new LruLinks(this.maxPfn);
    return this.lruLinks;
  }

  /** Keeps each page's content word from now on (swap devices and files need it). */
  trackContent(): void {
    if (this.data.length === 0) this.data = new Uint32Array(this.maxPfn);
  }

  /** rmap owner of the frame's folio (folio->mapping): a VMA or file id, 0 when unmapped. */
  mappingOf(pfn: number): number {
    return (this.flags[pfn] & MAPPING_MASK) >>> MAPPING_SHIFT;
  }

  /** Records the frame's rmap mapping id. */
  setMapping(pfn: number, id: number): void {
    this.flags[pfn] = ((this.flags[pfn] & ~MAPPING_MASK) | (id << MAPPING_SHIFT)) >>> 0;
  }

  /** Id of the memcg charged for the frame (0: none). */
  memcgOf(pfn: number): number {
    return this.flags[pfn] >>> MEMCG_SHIFT;
  }

  /** Records the memcg charged for the frame. */
  setMemcg(pfn: number, id: number): void {
    this.flags[pfn] = ((this.flags[pfn] & ~MEMCG_MASK) | (id << MEMCG_SHIFT)) >>> 0;
  }

  /** Node holding `pfn`, or -1 for a hole. */
  pfnToNid(pfn: number): number {
    const nodes = this.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      if (pfn >= n.startPfn && pfn < n.endPfn) return n.nid;
    }
    return -1;
  }

  /**
   * alloc_pages(order) on node `nid`, or the next node above its low watermark, falling back to the
   * other nodes in turn (the zonelist). Order 0 comes from the CPU's list for that node's zone,
   * refilled under zone->lock when empty (pcp.ts says how many pages); larger orders take
   * zone->lock directly. Returns the first pfn, or -1 when memory is exhausted.
   */
  allocPages(t: SimThread, nid: number, order: number): number {
    const p = this.engine.profile;
    const nodes = this.nodes.length;
    const first = this.firstZoneAboveLow(((nid % nodes) + nodes) % nodes);
    if (order === 0) {
      for (let i = 0; i < nodes; i++) {
        const z = (first + i) % nodes;
        this.checkBelowHigh(z);
        const list = this.pcpLists[z][t.cpu];
        const pcp = this.pcps[z];
        pcp.allocated(t.cpu);
        if (list.length === 0) this.refillPcp(t, this.nodes[z], pcp, list);
        const pfn = list.pop();
        if (pfn === undefined) continue;
        t.advance(p.pageAllocNs);
        this.markAllocated(pfn, 1);
        this.checkLowWatermark(t, z);
        return pfn;
      }
      return -1;
    }
    for (let i = 0; i < nodes; i++) {
      const node = this.nodes[(first + i) % nodes];
      node.zoneLock.lock(t);
      t.advance(p.pageAllocNs);
      const pfn = node.take(order);
      node.zoneLock.unlock(t);
      if (pfn >= 0) {
        this.markAllocated(pfn, 1 << order);
        node.allocated += 1 << order;
        this.checkLowWatermark(t, node.nid);
        return pfn;
      }
    }
    return -1;
  }

  /**
   * get_page_from_freelist's walk of the zonelist with ALLOC_WMARK_LOW: the first node from `nid`
   * on whose free pages are above its low watermark (zone_watermark_fast), or `nid` when none is:
   * the slowpath's later attempts (min watermark, after reclaim) then take any node with pages,
   * which the model tries in the same order.
   */
  private firstZoneAboveLow(nid: number): number {
    const nodes = this.nodes.length;
    for (let i = 0; i < nodes; i++) {
      const node = this.nodes[(nid + i) % nodes];
      if (node.freePages() > node.wmarkLow) return node.nid;
    }
    return nid;
  }

  /** The allocator's side of wakeup_kswapd: below the low watermark, wake the node's kswapd. */
  private checkLowWatermark(t: SimThread, nid: number): void {
    const node = this.nodes[nid];
    if (this.kswapdWakeup !== null && node.freePages() < node.wmarkLow) this.kswapdWakeup(t, nid);
  }

  /** get_page_from_freelist's ZONE_BELOW_HIGH: free pages of node `nid` below its high watermark. */
  private checkBelowHigh(nid: number): void {
    const node = this.nodes[nid];
    if (!node.belowHigh && node.freePages() < node.wmarkHigh) node.belowHigh = true;
  }

  /**
   * rmqueue_bulk of nr_pcp_alloc pages of `node` into `t`'s empty list for it, under its
   * zone->lock; charged `zoneRefillNs` per pcp->batch pages moved.
   */
  private refillPcp(t: SimThread, node: NumaNode, pcp: PerCpuPages, list: number[]): void {
    const p = this.engine.profile;
    const n = pcp.nrPcpAlloc(t.cpu, list.length, node);
    node.zoneLock.lock(t);
    t.advance(Math.round((p.zoneRefillNs * n) / p.pcpBatch));
    for (let k = 0; k < n; k++) {
      const pfn = node.take(0);
      if (pfn < 0) break;
      node.allocated++;
      list.push(pfn);
    }
    // Hand pages out in ascending pfn order, as a freshly filled list does.
    list.reverse();
    node.zoneLock.unlock(t);
  }

  private markAllocated(pfn: number, n: number): void {
    const f = this.flags;
    for (let i = pfn; i < pfn + n; i++) {
      if (f[i] & PG_ALLOCATED) throw new Error(`pfn ${i} allocated twice`);
      f[i] = PG_ALLOCATED;
    }
    this.refs.setRefcounted(pfn, n);
  }

  /**
   * free_unref_page (order 0) on `t`'s CPU: the frame goes onto the CPU's list for its node's zone
   * (still counted as allocated, as NR_FREE_PAGES does); when the list reaches pcp->high,
   * free_pcppages_bulk returns its oldest frames (as many as free_unref_page_commit says, pcp.ts) to
   * that zone under zone->lock, charged `zoneRefillNs` per pcp->batch frames: the model has no
   * separate term for it and charges what rmqueue_bulk pays to move them the other way. The list
   * operation itself is charged `pageAllocNs`, as on allocation.
   * A larger `order` (a THP) goes the way `allocPages` brings it (`freeUnrefLarge`).
   */
  freeUnrefPage(t: SimThread, pfn: number, order = 0): void {
    if (order > 0) {
      this.freeUnrefLarge(t, pfn, order);
      return;
    }
    if (!this.refs.ownerPut(pfn, 0)) return;
    const p = this.engine.profile;
    this.clearFrame(pfn);
    t.advance(p.pageAllocNs);
    const nid = this.pfnToNid(pfn);
    const zone = this.nodes[nid];
    const list = this.pcpLists[nid][t.cpu];
    list.push(pfn);
    const spill = this.pcps[nid].freeUnrefPageCommit(t.cpu, list.length, zone);
    if (spill === 0) return;
    const bulk = list.splice(0, spill);
    zone.zoneLock.lock(t);
    t.advance(Math.round((p.zoneRefillNs * bulk.length) / p.pcpBatch));
    for (const f of bulk) zone.free0.push(f);
    zone.allocated -= bulk.length;
    zone.zoneLock.unlock(t);
    if (zone.belowHigh && zone.freePages() >= zone.wmarkHigh) zone.belowHigh = false;
  }

  /**
   * free_unref_page of a 2^order folio, mirroring `allocPages`: the block goes straight back to its
   * node under zone->lock, charged `pageAllocNs`. (The kernel keeps THP-order blocks on the per-CPU
   * lists too, pcp_allowed_order since 5.13, and moves them to and from the zone max(batch >> order,
   * 2) at a time; the model takes zone->lock for each large allocation and free instead.)
   */
  private freeUnrefLarge(t: SimThread, pfn: number, order: number): void {
    if (!this.refs.ownerPut(pfn, order)) return;
    const node = this.nodes[this.pfnToNid(pfn)];
    node.zoneLock.lock(t);
    t.advance(this.engine.profile.pageAllocNs);
    this.releaseFrames(pfn, order);
    node.zoneLock.unlock(t);
  }

  /** Clears a frame's state as it is freed. */
  private clearFrame(i: number): void {
    if (!(this.flags[i] & PG_ALLOCATED)) throw new Error(`pfn ${i} freed twice`);
    // The caller takes a folio off the LRU first (lru_gen_del_folio, isolation).
    if (this.lruLinks?.linked(i)) throw new Error(`pfn ${i} freed while on an LRU list`);
    this.flags[i] = 0;
    this.refs.cleared(i);
    this.index[i] = 0;
    if (i < this.data.length) this.data[i] = 0;
  }

  /**
   * __free_pages: returns 2^order frames to their node's free list (no lock modelled on free), once
   * the owner's reference was the last (page-ref.ts).
   */
  freePages(pfn: number, order: number): void {
    if (this.refs.ownerPut(pfn, order)) this.releaseFrames(pfn, order);
  }

  private releaseFrames(pfn: number, order: number): void {
    const n = 1 << order;
    for (let i = pfn; i < pfn + n; i++) this.clearFrame(i);
    const node = this.nodes[this.pfnToNid(pfn)];
    node.allocated -= n;
    if (order === 0) node.free0.push(pfn);
    else node.free9.push(pfn);
  }
}
