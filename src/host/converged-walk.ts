/**
 * Models no kernel file: the "converged API" Sean Christopherson proposed in seed 002 (Re: [PATCH
 * v11 0/8] KVM: allow mapping non-refcounted pages, 14 Mar 2024) and mainline does not have: one
 * lockless, mm-owned walk of the host page tables (gup_fast's IRQs-off walk, mm/gup.c) for
 * MMU-notifier-protected users, which returns the pfn and the size of the leaf mapping it, takes no
 * reference, and accepts special PTEs (VM_PFNMAP) and huge leaves alike. It replaces both
 * get_user_page_fast_only and arch code's second walk (x86's host_pfn_mapping_level).
 */

import type { SimThread } from '../sim/thread.ts';
import { leafPfn } from './fault.ts';
import type { Mm } from './mm.ts';
import { PAGE_SIZE, PTE_PRESENT, PTE_WRITE } from './page-table.ts';

/** What the walk found: the pfn of the 4 KiB page, the leaf's level (1 = PTE, 2 = PMD, 3 = PUD). */
export interface ConvergedWalk {
  pfn: number;
  level: number;
}

/**
 * The walk, for a writable mapping only (as proposed: "probably only for write faults, to avoid
 * CoW complications"; a present read-only entry is left to GUP, which breaks CoW or calls
 * page_mkwrite). Costs one lockless walk (gupFastNs, the same term get_user_page_fast_only
 * charges). Returns false when nothing writable is mapped or the page is hardware-poisoned (the
 * caller then takes the GUP paths).
 */
export function followPfnLockless(t: SimThread, mm: Mm, hva: number, out: ConvergedWalk): boolean {
  t.advance(mm.host.engine.profile.gupFastNs);
  const vpn = Math.floor(hva / PAGE_SIZE);
  const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
  if (idx < 0) return false;
  const e = mm.pt.entries[idx];
  if (!(e & PTE_PRESENT) || !(e & PTE_WRITE)) return false;
  const level = mm.pt.hitLevel;
  const pfn = leafPfn(e, level, vpn);
  const poisoned = mm.host.mem.hwpoison;
  if (poisoned.size !== 0 && poisoned.has(pfn)) return false;
  out.pfn = pfn;
  out.level = level;
  return true;
}
