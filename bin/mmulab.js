#!/usr/bin/env node
// The mmulab command: runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs).
import { main } from '../dist/cli/main.js';

// Output streams to a reader that went away (`mmulab ... | head`): stop quietly, as a C program
// killed by SIGPIPE does, instead of printing a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
});
