/** Models no kernel file: the text output of `mmulab faultin` (one row per backing and variant). */
import type { FaultinResult } from './run.ts';

const ms = (ns: number) => (ns / 1e6).toFixed(3);
const fileCol = (n: number | undefined, w: number) => (n === undefined ? '-' : String(n)).padStart(w);

/** The table: per backing and variant, paths, SPTE levels, references, errors and time. */
export function formatFaultin(rs: readonly FaultinResult[], write: boolean, mmu: string): string {
  const bytes = rs[0]?.bytes ?? 0;
  const how = rs[0]?.populated;
  const populated = how ? `, the VMM populated the mapping first (${how}s)` : '';
  const head = [
    `# mmulab faultin: one vCPU ${write ? 'writes' : 'reads'} each 4 KiB page of a ${bytes >> 20} MiB memslot once, --mmu ${mmu}${populated}; simulated`,
    '# walk: gup (GUP, then host_pfn_mapping_level walks again) or converged (one walk: pfn and level, no reference; conv: faults it resolved)',
    '# paths: fast/slow GUP, hva_to_pfn_remapped, fixup_user_fault; refs: page references taken/dropped while faulting in',
    '# fault-in: first access to last; faults: the part outside the guest (exits, KVM and host fault paths)',
    '# file, shmem (MAP_SHARED file with/without write notification): then a write pass over every page, flusher and reclaim beside the vCPU;',
    '#   counters cover both passes; written-back: pages written to disk (with the final fsync); unneeded: of those, pages the guest had',
    '#   not written since their previous writeback; lost: writes the disk did not hold after the memslot was deleted and the file synced',
    'backing         variant      walk       faults  fast-gup  slow-gup  remapped  fixups     conv  spte-4k  spte-2m  spte-1g  refs-taken  refs-dropped  rc-errors  fault-in(ms)  faults(ms)  written-back  unneeded  lost  result',
  ];
  const rows = rs.map((r) =>
    [
      r.backing.padEnd(15),
      r.variant.padEnd(12),
      r.walk.padEnd(9),
      String(r.faults).padStart(7),
      String(r.fastGup).padStart(9),
      String(r.slowGup).padStart(9),
      String(r.remapped).padStart(9),
      String(r.fixups).padStart(7),
      String(r.converged).padStart(8),
      String(r.spte4k).padStart(8),
      String(r.spte2m).padStart(8),
      String(r.spte1g).padStart(8),
      String(r.refsTaken).padStart(11),
      String(r.refsDropped).padStart(13),
      String(r.refcountErrors).padStart(10),
      ms(r.faultInNs).padStart(13),
      ms(r.faultPathNs).padStart(11),
      fileCol(r.file?.writtenBack, 13),
      fileCol(r.file?.unneeded, 9),
      fileCol(r.file?.lostWrites, 5),
      r.runError === null ? 'ok' : r.runError,
    ].join(' '),
  );
  return `${[...head, ...rows].join('\n')}\n`;
}
