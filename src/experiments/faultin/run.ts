/**
 * Models no kernel file: `mmulab faultin`: one vCPU faults in a memslot of each backing under each
 * accessed/dirty policy, and the run reports kvm_follow_pfn's paths, SPTE levels, page references
 * taken and dropped, refcount errors and the time to fault the memory in.
 */

import type { AdPolicyName } from '../../kvm/ad-policy.ts';
import { KvmRunError } from '../../kvm/kvm-run-error.ts';
import { checkSptesMapLivePages } from '../../kvm/x86/spte-page-check.ts';
import { CAT } from '../../sim/accounting.ts';
import { Engine } from '../../sim/engine.ts';
import { type CostProfile, loadProfile } from '../../sim/profile.ts';
import {
  addFaultinSlot,
  createFaultinVm,
  type FaultinBacking,
  type FaultinVm,
  touchPages,
} from './faultin-vm.ts';

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
}

/** What one run measured. */
export interface FaultinResult {
  backing: FaultinBacking;
  variant: AdPolicyName;
  bytes: number;
  /** EPT violations the vCPU took. */
  faults: number;
  /** hva_to_pfn paths: fast GUP, slow GUP, hva_to_pfn_remapped, and fixup_user_fault calls. */
  fastGup: number;
  slowGup: number;
  remapped: number;
  fixups: number;
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
}

/** Runs one backing under one variant. */
export function runFaultin(o: FaultinOptions): FaultinResult {
  const engine = new Engine({ profile: o.profile ?? loadProfile('x86-tdp'), seed: 1 });
  const base = createFaultinVm(engine, o.backing, o.variant, o.bytes, o.tdpMmu ?? true);
  const refs = base.host.mem.refs;
  let vm: FaultinVm | null = null;
  let taken = 0;
  let dropped = 0;
  let start = 0;
  let end = 0;
  let guestNs = 0;
  engine.spawn('vcpu0', function* (t) {
    vm = yield* addFaultinSlot(t, base);
    taken = refs.taken;
    dropped = refs.dropped;
    start = t.now;
    const guest0 = t.acct[CAT.guest];
    try {
      yield* touchPages(t, vm, 0, vm.pages, o.write);
    } finally {
      end = t.now;
      guestNs = t.acct[CAT.guest] - guest0;
    }
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
    bytes: o.bytes,
    faults: kvm.stats.eptViolations,
    fastGup: s.fastGup,
    slowGup: s.slowGup,
    remapped: s.remapped,
    fixups: s.fixups,
    spte4k: s.spteLevels[1],
    spte2m: s.spteLevels[2],
    spte1g: s.spteLevels[3],
    refsTaken: refs.taken - taken,
    refsDropped: refs.dropped - dropped,
    refcountErrors: refs.errors.length,
    runError,
    faultInNs: end - start,
    faultPathNs: end - start - guestNs,
  };
}
