/**
 * Models include/linux/memcontrol.h: struct mem_cgroup (id, path, parent, memory.max) and
 * mem_cgroup_iter of mm/memcontrol.c (subtree).
 */
import { MAX_MEMCG_ID } from './phys-mem.ts';

/** A memory cgroup (v2): id, path and parent. Charging is per frame (`PhysMem.memcgOf`). */
export class Memcg {
  /** Frames charged. */
  pages = 0;
  /** memory.max in pages (Infinity: no limit). */
  max = Number.POSITIVE_INFINITY;
  /** Times a charge hit memory.max and reclaimed directly. */
  directReclaims = 0;
  constructor(
    readonly id: number,
    readonly path: string,
    readonly parent: Memcg | null,
  ) {}
}

/** The cgroup tree, root first, ids in creation order from 1. */
export class MemcgTree {
  readonly all: Memcg[] = [];
  readonly root: Memcg;

  constructor() {
    this.root = this.create('/', null);
  }

  /** Creates a child cgroup (mkdir under /sys/fs/cgroup). */
  create(path: string, parent: Memcg | null): Memcg {
    if (this.all.length >= MAX_MEMCG_ID) throw new Error(`too many memory cgroups (at most ${MAX_MEMCG_ID})`);
    const m = new Memcg(this.all.length + 1, path, parent);
    this.all.push(m);
    return m;
  }

  byId(id: number): Memcg | undefined {
    return this.all[id - 1];
  }

  /**
   * mem_cgroup_iter over the subtree rooted at `root`: `root` first, then its descendants in
   * pre-order (creation order of each parent's children).
   */
  subtree(root: Memcg): Memcg[] {
    const out = [root];
    for (let i = 0; i < out.length; i++) {
      const kids = this.all.filter((m) => m.parent === out[i]);
      out.splice(i + 1, 0, ...kids);
    }
    return out;
  }
}
