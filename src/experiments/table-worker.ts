/**
 * Models no kernel file: the worker thread of `runTable` with jobs > 1: runs the table rows
 * `runParallel` sends it.
 */
import { workerData } from 'node:worker_threads';
import { withCosts } from '../sim/profile.ts';
import { serveJobs } from './parallel.ts';
import { runTableRow, type TableRowJob } from './table.ts';

// A profile arrives as a structured clone; withCosts gives it V8 fast properties again.
serveJobs(workerData, (j: TableRowJob) =>
  runTableRow(typeof j.profile === 'object' ? { ...j, profile: withCosts(j.profile, {}) } : j),
);
