/** Models no kernel file: CLI: where the commands write (stdout and stderr, or a test's buffers). */

/** Where the CLI writes. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}
