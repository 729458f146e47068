/** Models no kernel file: CLI: output paths checked before a run and written whole (temporary file, then rename). */
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './errors.ts';

/**
 * Throws UsageError, without creating anything, unless `path` can be written: its directory exists
 * and is writable, and the path is not a directory or a read-only file. Call it for every output
 * option before simulating, so a bad path never costs a run.
 */
export function checkWritable(path: string, option: string): void {
  const abs = resolve(path);
  const cannot = (why: string) => new UsageError(`${option}: cannot write '${path}': ${why}`);
  const existing = statOrNull(abs);
  if (existing !== null) {
    if (existing.isDirectory()) throw cannot('it is a directory');
    if (!canOpenForWriting(abs)) throw cannot('permission denied');
    return;
  }
  const dir = dirname(abs);
  const d = statOrNull(dir);
  if (d === null) throw cannot(`directory ${dir} does not exist`);
  if (!d.isDirectory()) throw cannot(`${dir} is not a directory`);
  if (!canWrite(dir)) throw cannot(`directory ${dir} is not writable`);
}

/**
 * Writes `text` to `path` through a temporary file renamed into place, so a failed write leaves no
 * half-written file; a failure is a one-line UsageError.
 */
export function writeOutput(path: string, text: string, option: string): void {
  const tmp = `${resolve(path)}.mmulab-tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UsageError(
      `${option}: cannot write '${path}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Opens an existing file for writing without truncating it (as root, access(2) says yes to anything). */
function canOpenForWriting(path: string): boolean {
  try {
    closeSync(openSync(path, 'r+'));
    return true;
  } catch {
    return false;
  }
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
