/**
 * Models no kernel file: the event trail mmulab keeps so that a page the idle-page check finds
 * still idle can be explained (`classifyStillIdle`). For each host frame it remembers the last zap
 * of an accessed secondary-MMU leaf that mapped it (mmu_notifier_invalidate_range_start from
 * kernel/sched/fair.c's change_prot_numa or mm/migrate.c's try_to_migrate, through
 * kvm_unmap_gfn_range) and where the Accessed bit went. Struct-of-arrays per frame, as the page
 * flags: 22 bytes a frame, in place of an object per zapped frame.
 */

/** Where a zapped Accessed bit went. */
export type ZapOutcome = 'dropped' | 'idle-cleared' | 'lru-gen-refs';

/** What issued the invalidation: change_prot_numa or try_to_migrate. */
export type ZapCause = 'change_prot_numa' | 'try_to_migrate' | 'other';

/** One zap of an accessed secondary-MMU leaf, for event trails. */
export interface AccessedZap {
  ns: number;
  pfn: number;
  /** The guest frame whose secondary-MMU leaf was zapped (-1: not known to the zapping MMU). */
  gfn: number;
  cause: ZapCause;
  outcome: ZapOutcome;
}

const CAUSES: readonly ZapCause[] = ['change_prot_numa', 'try_to_migrate', 'other'];
const OUTCOMES: readonly ZapOutcome[] = ['dropped', 'idle-cleared', 'lru-gen-refs'];
/** `ns` of a frame with no zap recorded (zap times are never negative). */
const NONE = -1;

/** The last accessed-leaf zap of each host frame; records follow folio migrations. */
export class AccessedZapTrail {
  /** Simulated time of the zap, ns; NONE when the frame has no record. */
  private readonly ns: Float64Array;
  /** The frame the zap found mapped (a record moved by migration keeps it). */
  private readonly pfn: Int32Array;
  /** Float64: memstress places guest memory at the top of the guest physical address space. */
  private readonly gfn: Float64Array;
  /** Index in CAUSES, and in OUTCOMES. */
  private readonly cause: Uint8Array;
  private readonly outcome: Uint8Array;

  constructor(frames: number) {
    this.ns = new Float64Array(frames).fill(NONE);
    this.pfn = new Int32Array(frames);
    this.gfn = new Float64Array(frames);
    this.cause = new Uint8Array(frames);
    this.outcome = new Uint8Array(frames);
  }

  /** Records a zap of the leaf that mapped `z.pfn`, replacing that frame's previous record. */
  set(z: AccessedZap): void {
    const p = z.pfn;
    this.ns[p] = z.ns;
    this.pfn[p] = z.pfn;
    this.gfn[p] = z.gfn;
    this.cause[p] = CAUSES.indexOf(z.cause);
    this.outcome[p] = OUTCOMES.indexOf(z.outcome);
  }

  /** The last zap recorded for frame `pfn`, or undefined. */
  get(pfn: number): AccessedZap | undefined {
    const ns = this.ns[pfn];
    if (ns === NONE) return undefined;
    return {
      ns,
      pfn: this.pfn[pfn],
      gfn: this.gfn[pfn],
      cause: CAUSES[this.cause[pfn]],
      outcome: OUTCOMES[this.outcome[pfn]],
    };
  }

  /** The folio at `from` moved to `to`: its record (if any) goes with it. */
  move(from: number, to: number): void {
    if (this.ns[from] === NONE) return;
    this.ns[to] = this.ns[from];
    this.pfn[to] = this.pfn[from];
    this.gfn[to] = this.gfn[from];
    this.cause[to] = this.cause[from];
    this.outcome[to] = this.outcome[from];
    this.ns[from] = NONE;
  }
}
