// `--trace FILE`: the event trace (src/sim/trace.ts) streamed to a file as JSON lines.
import { closeSync, openSync, writeSync } from 'node:fs';
import { OptionsError } from '../experiments/access-tracking/options.ts';
import { Tracer, type TraceSink } from '../sim/trace.ts';

/**
 * Opens (truncates) `path` before the simulation starts, so an unwritable path is a usage error
 * rather than a run lost at the end, and returns a Tracer that writes each flushed batch to it and
 * closes it when the run finishes it. `sink` (the Perfetto writer) gets the same events.
 */
export function openTraceFile(path: string, sink?: TraceSink): Tracer {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new OptionsError(`--trace: cannot write '${path}' (${code})`);
  }
  return new Tracer({ write: (s) => writeSync(fd, s), close: () => closeSync(fd), sink });
}
