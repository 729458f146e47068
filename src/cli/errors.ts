/** Models no kernel file: CLI: the one error path (one line and exit 2 for user errors). */
import { CommanderError } from 'commander';
import { OomKill } from '../host/host.ts';
import { KvmRunError } from '../kvm/kvm-run-error.ts';
import { UserError } from '../sim/user-error.ts';
import type { CliIo } from './cli-io.ts';

/** A bad command line; printed as one line, exit status 2. */
export class UsageError extends UserError {
  override readonly code = 'MMULAB_USAGE';
}

/** Exit status of anything the user got wrong (a bad option, profile, file or path). */
export const EXIT_USAGE = 2;
/** Exit status of a run the simulated kernel killed (the OOM killer), as a failed test. */
export const EXIT_FAILED = 1;
/** Exit status of a bug in mmulab itself (sysexits.h EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;

/**
 * Reports an error thrown by a command as one line on stderr ("mmulab: ...") and returns the exit
 * status: 0 after --help or --version, 2 for a user error, 1 for an OOM kill or a KVM_RUN error, 70 for a bug. No stack
 * trace reaches the user unless MMULAB_DEBUG is set.
 */
export function reportError(e: unknown, io: CliIo): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return 0;
    io.err(`mmulab: ${oneLine(e.message.replace(/^error: /, ''))}\n`);
    return EXIT_USAGE;
  }
  if (e instanceof UserError) {
    io.err(`mmulab: ${oneLine(e.message)}\n`);
    return EXIT_USAGE;
  }
  if (e instanceof OomKill || e instanceof KvmRunError) {
    // The simulated kernel killed the selftest or failed KVM_RUN, as a real one would: a failed run.
    io.err(`mmulab: ${oneLine(e.message)}\n`);
    return EXIT_FAILED;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.err(`mmulab: internal error: ${oneLine(message)} (a bug in mmulab; MMULAB_DEBUG=1 shows where)\n`);
  if (process.env.MMULAB_DEBUG && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
  return EXIT_INTERNAL;
}

function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, ' ');
}
