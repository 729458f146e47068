// Models no kernel file: the one error class for what a user of mmulab can get wrong.

/**
 * Something the user got wrong (an option, a profile, a reference file, an output path). The CLI
 * prints its message as one line and exits 2; the API throws it before any simulation starts.
 */
export class UserError extends Error {
  readonly code: string = 'MMULAB_USER_ERROR';
}
