/**
 * Models virt/kvm/kvm_main.c and include/linux/kvm_host.h as of v6.13: kvm_set_page_accessed,
 * kvm_set_page_dirty, kvm_release_page_clean / _dirty / _unused and kvm_release_faultin_page; and,
 * for the policies before 6.13 (ad-policy.ts), kvm_set_pfn_dirty / kvm_set_pfn_accessed of v6.12.
 * kvm_set_page_dirty is SetPageDirty, which does not tag the page cache; the model keeps no dirty
 * tag (its flusher finds every PG_dirty folio), see the README's lost-write section.
 */
import { folioMarkAccessed } from '../host/folio-mark-accessed.ts';
import { PG_DIRTY, PG_RESERVED, PG_TAIL } from '../host/page-flags.ts';
import type { SimThread } from '../sim/thread.ts';
import { NO_PAGE } from './hva-to-pfn.ts';
import type { Kvm } from './kvm.ts';

/** The folio's head page: huge folios are 2 MiB (PMD-sized) in the model. */
function folioHead(flags: Uint32Array, pfn: number): number {
  return flags[pfn] & PG_TAIL ? pfn - (pfn % 512) : pfn;
}

/**
 * kvm_release_page_clean, or kvm_release_page_dirty when `dirty`: kvm_set_page_dirty (the folio
 * becomes dirty) and, when `accessed`, kvm_set_page_accessed (folio_mark_accessed, which clears
 * PG_idle only without lru_gen), then put_page. Both skip PageReserved pages (kvm_is_ad_tracked_page), such as
 * the zero page.
 */
export function kvmReleasePage(t: SimThread, kvm: Kvm, page: number, dirty: boolean, accessed = true): void {
  const flags = kvm.host.mem.flags;
  if (!(flags[page] & PG_RESERVED)) {
    t.advance(kvm.engine.profile.releaseFaultinNs);
    if (accessed) folioMarkAccessed(kvm.host, page);
    if (dirty) flags[folioHead(flags, page)] |= PG_DIRTY;
  }
  kvm.host.mem.refs.putPage(page);
}

/**
 * kvm_release_faultin_page(kvm, page, unused, dirty), with mmu_lock held unless `unused`: nothing
 * for NULL (a remapped pfn, KVM_PFN_NOSLOT, an error pfn); put_page only if `unused` (the fault
 * was retried); else release dirty if `dirty`, clean otherwise. x86 passes dirty = map_writable
 * (6.13), dirtying at map time because the fast page fault may later make the SPTE writable without
 * a lock; the policies before 6.13 released the page clean (kvm_release_pfn_clean) and dirtied it
 * when the SPTE went (kvmSetPfnDirty). The policy decides both.
 */
export function kvmReleaseFaultinPage(
  t: SimThread,
  kvm: Kvm,
  page: number,
  unused: boolean,
  mapWritable: boolean,
): void {
  if (page === NO_PAGE) return;
  // kvm_release_page_unused is put_page alone.
  if (unused) {
    kvm.host.mem.refs.putPage(page);
    return;
  }
  const policy = kvm.adPolicy;
  kvmReleasePage(t, kvm, page, policy.dirtyAtMap && mapWritable, policy.accessedAtMap);
}

/** kvm_set_pfn_dirty (v6.12): kvm_set_page_dirty (SetPageDirty) unless the page is reserved. */
export function kvmSetPfnDirty(kvm: Kvm, pfn: number): void {
  const flags = kvm.host.mem.flags;
  if (pfn >= flags.length || flags[pfn] & PG_RESERVED) return;
  flags[folioHead(flags, pfn)] |= PG_DIRTY;
}
