/**
 * Models no kernel file: the worker thread of `runMicroValidation` with jobs > 1: runs the
 * micro-experiment jobs `runParallel` sends it.
 */
import { workerData } from 'node:worker_threads';
import { type MicroJob, runMicroJob } from './micro-validate.ts';
import { serveJobs } from './parallel.ts';

serveJobs(workerData, (j: MicroJob) => runMicroJob(j));
