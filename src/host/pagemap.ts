/** Models fs/proc/task_mmu.c: /proc/PID/pagemap (pagemap_read). */
import { EINVAL } from '../fs/errno.ts';
import { putU64Words, type SimFile } from '../fs/vfs.ts';
import type { SimThread } from '../sim/thread.ts';
import { leafPfn } from './fault.ts';
import type { Mm } from './mm.ts';
import { ptePresent } from './page-table.ts';

type Gen<R> = Generator<void, R, void>;

/** PM_PRESENT (bit 63), PM_FILE (61), PM_MMAP_EXCLUSIVE (56) in the high word. */
const HI_PM_PRESENT = 1 << 31;
const HI_PM_FILE = 1 << 29;
const HI_PM_MMAP_EXCLUSIVE = 1 << 24;

/**
 * /proc/PID/pagemap (fs/proc/task_mmu.c pagemap_read): one u64 per virtual page, present bit 63 and
 * the pfn in bits 0-54 (read as root), PM_FILE for shmem and PM_MMAP_EXCLUSIVE for anonymous pages.
 * Each read takes mmap_lock for reading and walks the page tables.
 */
export class Pagemap implements SimFile {
  readonly mode = 0o444;
  constructor(readonly mm: Mm) {}

  // biome-ignore lint/correctness/useYield: SimFile reads are generators; this one never waits.
  *read(t: SimThread, pos: number, count: number): Gen<Uint8Array | number> {
    if (pos % 8 !== 0 || count % 8 !== 0) return -EINVAL;
    const mm = this.mm;
    const p = mm.host.engine.profile;
    mm.mmapLock.readLock(t);
    const out = new Uint8Array(count);
    const zero = mm.host.mem.zeroPfn;
    for (let i = 0; i < count / 8; i++) {
      const vpn = pos / 8 + i;
      t.advance(p.pagemapReadNs);
      const vma = mm.findVma(vpn * 4096);
      if (vma === null) continue;
      const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
      if (idx < 0) continue;
      const e = mm.pt.entries[idx];
      if (!ptePresent(e)) continue;
      const pfn = leafPfn(e, mm.pt.hitLevel, vpn);
      let hi = HI_PM_PRESENT | Math.floor(pfn / 2 ** 32);
      if (vma.file !== null) hi |= HI_PM_FILE;
      else if (pfn !== zero) hi |= HI_PM_MMAP_EXCLUSIVE;
      putU64Words(out, i * 8, pfn >>> 0, hi >>> 0);
    }
    mm.mmapLock.readUnlock(t);
    return out;
  }
}
