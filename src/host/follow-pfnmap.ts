/**
 * Models mm/memory.c: follow_pfnmap_start and follow_pfnmap_end (followPfnmapStart), the walk of a
 * VM_IO|VM_PFNMAP mapping that replaced follow_pte and also sees PMD and PUD leaves (huge PFNMAP).
 */

import { leafPfn } from './fault.ts';
import { EINVAL } from './gup.ts';
import type { Mm } from './mm.ts';
import { PAGE_SIZE, PTE_PRESENT, PTE_WRITE } from './page-table.ts';
import { VM_IO, VM_PFNMAP, type Vma } from './vma.ts';

/** struct follow_pfnmap_args: the outputs of a successful walk. */
export interface FollowPfnmapArgs {
  /** The pfn mapping the address (the leaf's pfn plus the address's offset in it). */
  pfn: number;
  /** The leaf is writable (pte_write / pmd_write / pud_write). */
  writable: boolean;
  /** The leaf's level: 1 = PTE (4 KiB), 2 = PMD (2 MiB), 3 = PUD (1 GiB). */
  level: number;
}

/**
 * follow_pfnmap_start: with mmap_lock held, find the present leaf that maps `hva` in `vma` and fill
 * `args`. Returns 0, or -EINVAL when the VMA is not VM_IO|VM_PFNMAP, or nothing present maps `hva`.
 * The kernel returns with the leaf's page-table lock held until follow_pfnmap_end; the model's walk
 * runs without yielding, so there is nothing to hold.
 */
export function followPfnmapStart(mm: Mm, vma: Vma, hva: number, args: FollowPfnmapArgs): number {
  if (!(vma.vmFlags & (VM_IO | VM_PFNMAP)) || hva < vma.start || hva >= vma.end) return EINVAL;
  const vpn = Math.floor(hva / PAGE_SIZE);
  const idx = mm.pt.walk(mm.pgd, vpn, 1, false);
  if (idx < 0) return EINVAL;
  const e = mm.pt.entries[idx];
  if (!(e & PTE_PRESENT)) return EINVAL;
  args.level = mm.pt.hitLevel;
  args.pfn = leafPfn(e, args.level, vpn);
  args.writable = (e & PTE_WRITE) !== 0;
  return 0;
}
