/**
 * Models no kernel file: `mmulab faultin`: one vCPU faults in a memslot of each backing under each
 * accessed/dirty policy, and the run reports kvm_follow_pfn's paths, SPTE levels, page references
 * taken and dropped, refcount errors and the time to fault the memory in. On a file backing the
 * guest then writes every page once more (memstress's write pass) while the flusher and reclaim
 * run (file-writeback.ts), and the run also reports writebacks, unneeded ones and lost writes.
 */

import type { AdPolicyName } from '../../kvm/ad-policy.ts';
import type { FaultinWalk } from '../../kvm/kvm.ts';
import { KvmRunError } from '../../kvm/kvm-run-error.ts';
import { checkSptesMapLivePages } from '../../kvm/x86/spte-page-check.ts';
import { CAT } from '../../sim/accounting.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import {
  addFaultinSlot,
  createFaultinVm,
  type FaultinBacking,
  type FaultinPopulate,
  isFileBacking,
  populateMapping,
  touchPages,
} from './faultin-vm.ts';
import { DEFAULT_FILE_PACE, FileWriteback, type FileWritebackPace } from './file-writeback.ts';

/** One run's options. */
export interface FaultinOptions {
  backing: FaultinBacking;
  variant: AdPolicyName;
  /** Bytes of guest memory in the memslot. */
  bytes: number;
  /** The guest writes (true) or reads each page. */
  write: boolean;
  /** The TDP MMU (default) or the shadow MMU. */
  tdpMmu?: boolean;
  profile?: CostProfile;
  /** Fault-in lookup: the kernel's GUP + host_pfn_mapping_level (default), or the converged walk. */
  walk?: FaultinWalk;
  /** The VMM populates the mapping before KVM_RUN (writing: prealloc; or reading), else null. */
  populate?: FaultinPopulate | null;
  /** File backings: how often the flusher and reclaim run (DEFAULT_FILE_PACE). */
  pace?: FileWritebackPace;
}

/** What a file backing adds: writeback's work and the lost-write oracle's verdict. */
export interface FaultinFileResult {
  /** Guest writes (both passes). */
  writes: number;
  /** Pages written to disk, including the final fsync. */
  writtenBack: number;
  /** Of those, pages the guest had not written since their previous writeback (or ever). */
  unneeded: number;
  /** Clean folios reclaim dropped (the next access reads them from disk). */
  dropped: number;
  /** Writes the disk did not hold once the memslot was deleted and the file synced. */
  lostWrites: number;
}

/** What one run measured. */
export interface FaultinResult {
  backing: FaultinBacking;
  variant: AdPolicyName;
  walk: FaultinWalk;
  populated: FaultinPopulate | null;
  bytes: number;
  /** EPT violations the vCPU took. */
  faults: number;
  /** hva_to_pfn paths: fast GUP, slow GUP, hva_to_pfn_remapped, and fixup_user_fault calls. */
  fastGup: number;
  slowGup: number;
  remapped: number;
  fixups: number;
  /** Faults the converged walk resolved (--walk converged; the rest fell back to GUP). */
  converged: number;
  /** Leaf SPTEs installed at 4 KiB, 2 MiB and 1 GiB. */
  spte4k: number;
  spte2m: number;
  spte1g: number;
  /** Page references taken and dropped while faulting in (GUP, KVM, vm_insert_page). */
  refsTaken: number;
  refsDropped: number;
  /** Refcount errors the model detected (get on zero, underflow, freed while mapped). */
  refcountErrors: number;
  /** KVM_RUN's error, if it failed (the kernel's -EFAULT with the page's events), else null. */
  runError: string | null;
  /** Simulated time from the first access to the last, in ns. */
  faultInNs: number;
  /** The part of it not spent by the guest touching memory: exits, KVM's and the host's fault paths. */
  faultPathNs: number;
  /** File backings only, else null. */
  file: FaultinFileResult | null;
}

/** Runs one backing under one variant. */
export function runFaultin(o: FaultinOptions): FaultinResult {
  const engine = new Engine({ profile: o.profile ?? loadProfile('x86-tdp'), seed: 1 });
  const base = createFaultinVm(engine, o.backing, o.variant, o.bytes, o.tdpMmu ?? true, o.walk ?? 'gup');
  const refs = base.host.mem.refs;
  let taken = 0;
  let dropped = 0;
  let start = 0;
  let end = 0;
  let guestNs = 0;
  let wb: FileWriteback | null = null;
  const pace = o.pace ?? DEFAULT_FILE_PACE;
  engine.spawn('vcpu0', function* (t) {
    const v = yield* addFaultinSlot(t, base);
    if (o.populate) populateMapping(t, v, o.populate);
    taken = refs.taken;
    dropped = refs.dropped;
    if (isFileBacking(o.backing)) {
      const w = new FileWriteback(v);
      wb = w;
      engine.spawn('flusher', (ft) => w.flusher(ft, pace));
      engine.spawn('kswapd0', (rt) => w.reclaim(rt, pace));
    }
    const onWrite = wb === null ? null : (p: number, val: number) => wb!.oracle.wrote(p, val, 0);
    start = t.now;
    const guest0 = t.acct[CAT.guest];
    try {
      yield* touchPages(t, v, 0, v.pages, o.write, 1, 1, onWrite);
    } finally {
      end = t.now;
      guestNs = t.acct[CAT.guest] - guest0;
    }
    if (wb === null) return;
    yield* touchPages(t, v, 0, v.pages, true, 1, 1 + v.pages, onWrite);
    yield* (wb as FileWriteback).finish(t);
  });
  let runError: string | null = null;
  try {
    engine.run();
  } catch (e) {
    if (!(e instanceof KvmRunError)) throw e;
    runError = e.message;
  }
  const kvm = base.kvm;
  checkSptesMapLivePages(kvm);
  const s = kvm.faultin;
  return {
    backing: o.backing,
    variant: o.variant,
    walk: o.walk ?? 'gup',
    populated: o.populate ?? null,
    bytes: o.bytes,
    faults: kvm.stats.eptViolations,
    fastGup: s.fastGup,
    slowGup: s.slowGup,
    remapped: s.remapped,
    fixups: s.fixups,
    converged: s.convergedWalks,
    spte4k: s.spteLevels[1],
    spte2m: s.spteLevels[2],
    spte1g: s.spteLevels[3],
    refsTaken: refs.taken - taken,
    refsDropped: refs.dropped - dropped,
    refcountErrors: refs.errors.length,
    runError,
    faultInNs: end - start,
    faultPathNs: end - start - guestNs,
    file: wb === null ? null : fileResult(wb),
  };
}

function fileResult(wb: FileWriteback): FaultinFileResult {
  const o = wb.oracle;
  const file = wb.vm.vma.file!;
  return {
    writes: o.writes,
    writtenBack: file.pagesWritten,
    unneeded: o.unneededWritebacks,
    dropped: file.pagesDropped,
    lostWrites: o.lost.length,
  };
}
