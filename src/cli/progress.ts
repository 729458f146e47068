/**
 * Progress bars of long commands (cli-progress), on stderr and only when stderr is a terminal.
 * Wall time and the estimate appear here and nowhere else: results never depend on this machine.
 */
import { Presets, SingleBar } from 'cli-progress';

/** A progress bar, or nothing when stderr is not a terminal. */
export interface Progress {
  /** `done` of `total` units; `simNs` adds the simulated time reached so far. */
  update(done: number, total: number, simNs?: number): void;
  /** Writes text to stdout without tearing the bar (clears its line, redraws it after). */
  print(write: () => void): void;
  stop(): void;
}

const NO_PROGRESS: Progress = {
  update() {},
  print(write) {
    write();
  },
  stop() {},
};

/** Simulated seconds with millisecond precision. */
function simSeconds(ns: number): string {
  return `${(ns / 1e9).toFixed(3)}s`;
}

/**
 * Starts a bar labelled `label` counting `unit`s when stream (default: stderr) is a TTY.
 * `sim` adds a "sim" column for simulated time.
 */
export function startProgress(
  label: string,
  unit: string,
  o: { sim?: boolean; stream?: NodeJS.WriteStream } = {},
): Progress {
  const stream = o.stream ?? process.stderr;
  if (!stream.isTTY) return NO_PROGRESS;
  const simColumn = o.sim ? ' | sim {sim}' : '';
  const bar = new SingleBar(
    {
      stream,
      format: `${label} {bar} {percentage}% | {value}/{total} ${unit}${simColumn} | wall {duration_formatted} | eta {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      forceRedraw: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, simNs) {
      const payload = { sim: simNs === undefined ? '-' : simSeconds(simNs) };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
        return;
      }
      if (bar.getTotal() !== total) bar.setTotal(total);
      bar.update(done, payload);
    },
    print(write) {
      if (!started) return write();
      stream.write('\r\x1b[2K');
      write();
      bar.render();
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
