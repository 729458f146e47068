/** Models no kernel file: the base class of errors a user can cause (exit 2 at the CLI). */

/**
 * Something the user got wrong (an option, a profile, a reference file, an output path). The CLI
 * prints its message as one line and exits 2; the API throws it before any simulation starts.
 */
export class UserError extends Error {
  readonly code: string = 'MMULAB_USER_ERROR';
}
