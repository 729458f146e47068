/** Models no kernel file: CLI: --perfetto FILE, opened before the run. */
// `--perfetto FILE` and `--perfetto-window START:END`: the Perfetto export (src/sim/perfetto/)
// streamed to a file.
import { closeSync, openSync, writeSync } from 'node:fs';
import { OptionsError } from '../experiments/access-tracking/options.ts';
import { PerfettoWriter } from '../sim/perfetto/perfetto-writer.ts';

const NS_PER_S = 1e9;

/**
 * Parses `START:END` in simulated seconds (decimals allowed; either side may be empty: from the
 * start, to the end) into [start, end) ns.
 */
export function parsePerfettoWindow(v: string): { start: number; end: number } {
  const m = /^(\d+(?:\.\d+)?)?:(\d+(?:\.\d+)?)?$/.exec(v.trim());
  if (m === null)
    throw new OptionsError(
      `--perfetto-window takes START:END in simulated seconds (e.g. 0.5:0.6), not '${v}'`,
    );
  const start = m[1] === undefined ? 0 : Math.round(Number(m[1]) * NS_PER_S);
  const end = m[2] === undefined ? Number.POSITIVE_INFINITY : Math.round(Number(m[2]) * NS_PER_S);
  if (end <= start) throw new OptionsError(`--perfetto-window: END must be after START ('${v}')`);
  return { start, end };
}

/**
 * Opens (truncates) `path` before the simulation starts, so an unwritable path is a usage error
 * rather than a run lost at the end, and returns the writer that streams the export into it and
 * closes it when the run finishes.
 */
export function openPerfettoFile(path: string, window?: string): PerfettoWriter {
  const w = window === undefined ? undefined : parsePerfettoWindow(window);
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new OptionsError(`--perfetto: cannot write '${path}' (${code})`);
  }
  return new PerfettoWriter({
    write: (s) => writeSync(fd, s),
    close: () => closeSync(fd),
    window: w,
    processName: 'access_tracking_perf_test (simulated)',
  });
}
