/**
 * Models no kernel file: the lost-write oracle. Every guest write carries a value (its sequence
 * number); the disk and every page still in memory must hold the last value the guest wrote to
 * that location. The oracle keeps a trail of what happened to each page (the state of its folio,
 * host PTE and SPTE after each scheduler step that changed it) and names the first lost write with
 * the trail that led to it.
 */
import { PG_DIRTY } from '../../host/page-flags.ts';
import { PAGE_SIZE, PTE_DIRTY, PTE_PRESENT, PTE_WRITE } from '../../host/page-table.ts';
import { EPT_D, EPT_W, isAccessTrackSpte, isLastSpte, isShadowPresent } from '../../kvm/x86/spte.ts';
import type { LostWriteVm } from './lost-write-vm.ts';

/** One line of a page's trail: after scheduler step `step`, by `actor`, the page looked like `state`. */
export interface TrailEvent {
  step: number;
  actor: string;
  what: string;
  page: number;
  state: string;
}

/** A write the disk or the page cache no longer holds. */
export interface LostWrite {
  /** The write's value (its sequence number among the guest's writes). */
  value: number;
  page: number;
  gfn: number;
  /** The step that wrote it and the step after which the oracle found it gone. */
  writtenAt: number;
  foundAt: number;
  /** What the page (in memory) or the disk (not cached) held instead. */
  found: number;
  /** The page's trail from a few events before the write up to the loss. */
  trail: TrailEvent[];
}

/** Trail events shown before the lost write's own step. */
const TRAIL_CONTEXT = 6;

/** The oracle's counters and findings for one run. */
export class LostWriteOracle {
  /** Guest writes made. */
  writes = 0;
  /** Writebacks of pages the guest had not written since their previous writeback. */
  unneededWritebacks = 0;
  readonly lost: LostWrite[] = [];
  /** Per page: the last value written, the step it was written at, the writes so far. */
  private readonly last: Uint32Array;
  private readonly lastStep: Int32Array;
  private readonly writeCount: Uint32Array;
  private readonly writesAtWriteback: Uint32Array;
  private readonly reported: Uint32Array;
  private readonly states: string[];
  private readonly trail: TrailEvent[] = [];

  constructor(readonly vm: LostWriteVm) {
    const n = vm.pages;
    this.last = new Uint32Array(n);
    this.lastStep = new Int32Array(n).fill(-1);
    this.writeCount = new Uint32Array(n);
    this.writesAtWriteback = new Uint32Array(n);
    this.reported = new Uint32Array(n);
    this.states = Array.from({ length: n }, (_, i) => this.pageState(i));
  }

  /** The guest's write of `value` to page `page` completed at step `step`. */
  wrote(page: number, value: number, step: number): void {
    this.writes++;
    this.last[page] = value;
    this.lastStep[page] = step;
    this.writeCount[page]++;
  }

  /** The flusher decided to write page `page` back (folio_clear_dirty_for_io returned true). */
  cleaned(page: number): void {
    if (this.writeCount[page] === this.writesAtWriteback[page]) this.unneededWritebacks++;
    this.writesAtWriteback[page] = this.writeCount[page];
  }

  /** The page's folio, PTE and SPTE state, as the trail shows it. */
  pageState(page: number): string {
    const { host, file, mm, vma, kvm, vcpu } = this.vm;
    const pfn = file.pages[page];
    const parts: string[] = [];
    if (pfn < 0) parts.push('not cached');
    else {
      const f = host.mem.flags[pfn];
      parts.push(
        `pfn ${pfn}${f & PG_DIRTY ? ' dirty' : ' clean'}${file.writeback![page] ? ' writeback' : ''}`,
      );
      parts.push(`mem=${host.mem.data[pfn]}`);
    }
    parts.push(`disk=${file.disk![page]}`);
    const idx = mm.pt.walk(mm.pgd, vma.start / PAGE_SIZE + page, 1, false);
    const e = idx >= 0 ? mm.pt.entries[idx] : 0;
    parts.push(
      e & PTE_PRESENT ? `pte=${e & PTE_WRITE ? 'rw' : 'ro'}${e & PTE_DIRTY ? '+d' : ''}` : 'pte=none',
    );
    const root = vcpu.root;
    let spte = 'spte=none';
    if (root !== null) {
      const pool = kvm.mmu.pool;
      const s = pool.walk(root.table, this.vm.baseGfn + page);
      const lo = pool.lo[s];
      if (isShadowPresent(lo) && isLastSpte(lo, pool.walkLevel)) {
        const hi = pool.hi.get(s);
        if (isAccessTrackSpte(lo, hi)) spte = 'spte=access-tracked';
        else spte = `spte=${lo & EPT_W ? 'w' : 'ro'}${lo & EPT_D ? '+d' : ''}`;
      }
    }
    parts.push(spte);
    return parts.join(' ');
  }

  /** After step `step` by `actor` (doing `what`): record changed pages and check every page. */
  afterStep(step: number, actor: string, what: string): void {
    for (let i = 0; i < this.vm.pages; i++) {
      const s = this.pageState(i);
      if (s !== this.states[i]) {
        this.states[i] = s;
        this.trail.push({ step, actor, what, page: i, state: s });
      }
    }
    this.check(step, false);
  }

  /**
   * Every page in memory holds the last value written to it, and the disk holds it for every page
   * not in memory (`final`: for every page, after the VM is gone and the file synced).
   */
  check(step: number, final: boolean): void {
    const { host, file } = this.vm;
    for (let i = 0; i < this.vm.pages; i++) {
      const pfn = file.pages[i];
      const held = pfn >= 0 && !final ? host.mem.data[pfn] : file.disk![i];
      const want = this.last[i];
      if (held === want || this.reported[i] === want) continue;
      this.reported[i] = want;
      const first = this.trail.findIndex((e) => e.page === i && e.step >= this.lastStep[i]);
      const events = this.trail.filter((e) => e.page === i);
      const at = first < 0 ? events.length : events.indexOf(this.trail[first]);
      this.lost.push({
        value: want,
        page: i,
        gfn: this.vm.baseGfn + i,
        writtenAt: this.lastStep[i],
        foundAt: step,
        found: held,
        trail: events.slice(Math.max(0, at - TRAIL_CONTEXT)),
      });
    }
  }
}
