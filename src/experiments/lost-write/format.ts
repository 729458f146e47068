/** Models no kernel file: the text output of `mmulab lost-write` (per policy, and the first loss). */
import type { LostWriteSummary } from './drivers.ts';
import type { LostWriteOptions } from './options.ts';

/**
 * One line per policy and write-notify setting: runs, guest writes, pages written back, of those
 * the ones the guest had not written since their previous writeback, clean pages dropped, lost
 * writes; then, for each line that lost one, the first lost write with its page's trail.
 */
export function formatLostWrite(o: LostWriteOptions, rs: readonly LostWriteSummary[]): string {
  const mode = o.systematic
    ? `systematic: every schedule of the first ${o.depth} steps (vCPU, flusher, reclaim), ${o.pages} pages`
    : `random: seeds 1-${o.seeds}, ${o.steps} steps each, ${o.pages} pages`;
  const lines = [
    `# mmulab lost-write: MAP_SHARED file-backed guest memory, --mmu ${o.mmu}, EPT A/D ${o.eptAd ? 'on' : 'off'}; ${mode}; simulated`,
    'policy       writenotify   runs  writes  written-back  unneeded  dropped  lost  runs-with-loss',
  ];
  for (const r of rs)
    lines.push(
      `${r.policy.padEnd(12)} ${(r.writenotify ? 'on' : 'off').padEnd(11)} ${String(r.runs).padStart(6)}  ${String(r.writes).padStart(6)}  ${String(r.pagesWritten).padStart(12)}  ${String(r.unneededWritebacks).padStart(8)}  ${String(r.pagesDropped).padStart(7)}  ${String(r.lostWrites).padStart(4)}  ${String(r.runsWithLoss).padStart(14)}`,
    );
  for (const r of rs) {
    if (r.first === null) continue;
    const l = r.first.lost;
    lines.push(
      '',
      `## ${r.policy}, writenotify ${r.writenotify ? 'on' : 'off'}: first lost write (${r.first.run}): write #${l.value} to page ${l.page} (gfn 0x${l.gfn.toString(16)}) at step ${l.writtenAt}, found at step ${l.foundAt} holding ${l.found}`,
    );
    for (const e of l.trail)
      lines.push(`  step ${String(e.step).padStart(4)}  ${e.actor.padEnd(7)}  ${e.what}  ->  ${e.state}`);
  }
  return `${lines.join('\n')}\n`;
}
