/**
 * A guest access that may hit emulated MMIO: the CPU's EPT walk as in memstress.ts, plus the EPT
 * misconfiguration an MMIO SPTE raises (handle_ept_misconfig, arch/x86/kvm/vmx/vmx.c). An access
 * ends either in RAM (the leaf allows it) or in emulation (KVM_EXIT_MMIO: the VMM completes it).
 */
import { handleEptViolation, type KvmVcpu, takeKick } from '../kvm/vcpu.ts';
import { handleEptMisconfig } from '../kvm/x86/mmio-fault.ts';
import { isMmioSpte } from '../kvm/x86/mmio-spte.ts';
import {
  EPT_A,
  EPT_D,
  EPT_R,
  EPT_RWX,
  EPT_W,
  isLastSpte,
  isShadowPresent,
  spteAdEnabled,
  sptePfn,
} from '../kvm/x86/spte.ts';
import { CAT } from '../sim/accounting.ts';
import type { SimThread } from '../sim/thread.ts';

/** How a guest access ended. */
export type GuestAccessResult = 'ram' | 'mmio';

/**
 * One guest access to `gfn`: an MMIO SPTE exits as an EPT misconfiguration, a missing or
 * insufficient SPTE as an EPT violation; it loops until the access reaches RAM or is emulated.
 */
export function* guestMmioAccess(
  t: SimThread,
  vcpu: KvmVcpu,
  gfn: number,
  write: boolean,
  value = 0,
): Generator<void, GuestAccessResult, void> {
  const kvm = vcpu.kvm;
  const layout = kvm.mmioGen.layout;
  for (;;) {
    if (t.now > t.limit) yield;
    if (t.pendingKickNs > 0) takeKick(t, vcpu);
    const pool = kvm.mmu.pool;
    const idx = pool.walk(vcpu.root!.table, gfn);
    const level = pool.walkLevel;
    const lo = pool.lo[idx];
    const hi = pool.hi.get(idx);
    // The CPU checks an entry's RWX bits first: an MMIO SPTE's (W without R) is a misconfiguration
    // whatever its other bits hold (v4.20's layout keeps generation bits where today's present bit
    // is, so it must be told apart before presence).
    const mmio = isMmioSpte(layout, lo, hi);
    const leaf = !mmio && isShadowPresent(lo) && isLastSpte(lo, level);
    if (leaf && (write ? lo & EPT_W : lo & EPT_R)) {
      if (spteAdEnabled(hi)) pool.lo[idx] = (lo | EPT_A | (write ? EPT_D : 0)) >>> 0;
      if (write) kvm.host.mem.data[sptePfn(lo, hi) + (level === 2 ? gfn & 511 : 0)] = value;
      t.advanceAs(CAT.guest, t.engine.profile.guestAccessNs);
      return 'ram';
    }
    if (mmio) yield* handleEptMisconfig(t, vcpu, gfn);
    else yield* handleEptViolation(t, vcpu, gfn, write, leaf && (lo & EPT_RWX) !== 0);
    if (vcpu.mmio.mmioNeeded) {
      vcpu.mmio.mmioNeeded = false;
      return 'mmio';
    }
  }
}
