/** Models tools/testing/selftests/kvm/access_tracking_perf_test.c: pageidle_mark_vcpu_memory_idle. */
import { errnoName } from '../../fs/errno.ts';
import { putU64Words, u64Words } from '../../fs/vfs.ts';
import { PROGRESS_STRIDE } from '../../guest/memstress.ts';
import { PAGE_IDLE_BITMAP } from '../../reclaim/page-idle/page-idle.ts';
import { CAT } from '../../sim/accounting.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { MemstressVm } from './memstress-vm.ts';
import { classifyStillIdle, noStillIdleCauses, type StillIdleCauses } from './numa-report.ts';

/** Result of one vCPU's page_idle marking pass. */
export interface MarkIdleResult {
  vcpu: number;
  pages: number;
  noPfn: number;
  stillIdle: number;
  /** With NUMA balancing simulated: why the still-idle pages were still idle. */
  numa?: StillIdleCauses;
}

/**
 * pageidle_mark_vcpu_memory_idle (access_tracking_perf_test.c), run by the vCPU's thread: for each
 * guest page, translate to the host address, read its pagemap entry, read the bitmap word of its pfn
 * (which re-checks every idle page in that word) and, unless the page is still idle, write its bit.
 */
export function* pageidleMarkVcpuMemoryIdle(
  t: SimThread,
  vm: MemstressVm,
  vcpuIdx: number,
  /** Called with PROGRESS_STRIDE after every PROGRESS_STRIDE pages (progress reports only). */
  tick: ((pages: number) => void) | null = null,
  /** The end of the previous marking: zaps after it explain still-idle pages. */
  sinceNs = 0,
): Generator<void, MarkIdleResult, void> {
  const va = vm.args.vcpuArgs[vcpuIdx];
  const res: MarkIdleResult = { vcpu: vcpuIdx, pages: va.pages, noPfn: 0, stillIdle: 0 };
  const nb = vm.host.numaBalancing;
  if (nb !== null) res.numa = noStillIdleCauses();
  const p = t.engine.profile;
  const hvaBase = vm.testVma.start + (va.gpa - vm.args.gpa);
  const word = new Uint8Array(8);
  const prevCtx = t.enter(CAT.pageIdle);
  const tr = t.engine.trace;
  if (tr !== null) tr.emit(t, 'page_idle_mark_begin', { vcpu: vcpuIdx, pages: va.pages });
  for (let page = 0; page < va.pages; page++) {
    if (tick !== null && page % PROGRESS_STRIDE === 0 && page > 0) tick(PROGRESS_STRIDE);
    t.advance(p.selftestPageNs);
    const hva = hvaBase + page * vm.args.guestPageSize;
    const entry = yield* vm.vfs.pread(t, vm.pagemapPath, (hva / 4096) * 8, 8);
    if (typeof entry === 'number') throw new Error(`pread from pagemap failed: ${errnoName(entry)}`);
    const [lo, hi] = u64Words(entry);
    if (!(hi & 0x80000000)) {
      res.noPfn++;
      continue;
    }
    const pfn = (hi & 0x7fffff) * 2 ** 32 + lo;
    if (pfn === 0) throw new Error('Looking up PFNs requires CAP_SYS_ADMIN');
    const wordIdx = Math.floor(pfn / 64);
    const bits = yield* vm.vfs.pread(t, PAGE_IDLE_BITMAP, wordIdx * 8, 8);
    if (typeof bits === 'number') throw new Error(`pread from page_idle failed: ${errnoName(bits)}`);
    const bit = pfn % 64;
    if (bits[bit >> 3] & (1 << (bit & 7))) {
      res.stillIdle++;
      if (nb !== null) classifyStillIdle(nb, pfn, sinceNs, res.numa!);
      continue;
    }
    putU64Words(word, 0, bit < 32 ? (1 << bit) >>> 0 : 0, bit >= 32 ? (1 << (bit - 32)) >>> 0 : 0);
    const w = yield* vm.vfs.pwrite(t, PAGE_IDLE_BITMAP, wordIdx * 8, word);
    if (w !== 8)
      throw new Error(`Set page_idle bits for PFN 0x${pfn.toString(16)}: ${w < 0 ? errnoName(w) : w}`);
  }
  if (tr !== null)
    tr.emit(t, 'page_idle_mark_end', {
      vcpu: vcpuIdx,
      pages: res.pages,
      noPfn: res.noPfn,
      stillIdle: res.stillIdle,
    });
  t.leave(prevCtx);
  return res;
}
