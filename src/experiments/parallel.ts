/**
 * Models no kernel file: runs independent simulations on worker threads (table, validate,
 * calibrate) and returns their results in job order.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

/** A job's result or the message of the error it threw, as a worker posts it back. */
export type WorkerReply<R> = { index: number; result: R } | { index: number; error: string };

/** Default number of parallel simulations: one per CPU of this machine. */
export function defaultJobs(): number {
  return availableParallelism();
}

/**
 * Runs independent simulations on up to `n` worker threads and returns their results in job order,
 * without leaving the synchronous call: the caller blocks on an Atomics counter that workers bump
 * after each reply, and takes replies with receiveMessageOnPort. Jobs are handed out largest first
 * (by `cost`) so the last ones to finish are small. Each simulation is deterministic on its own, so
 * the results do not depend on `n` or on which worker ran what. `workerModule` must call
 * `serveJobs` with the function that runs one job. With n <= 1, `runHere` runs them in this thread.
 */
export function runParallel<J, R>(
  jobs: J[],
  o: {
    n: number;
    workerModule: URL;
    runHere: (job: J) => R;
    cost: (job: J) => number;
    onResult?: (done: number, total: number) => void;
    errorOf: (message: string) => Error;
  },
): R[] {
  const results: R[] = new Array(jobs.length);
  const n = Math.min(o.n, jobs.length);
  if (n <= 1) {
    jobs.forEach((j, i) => {
      results[i] = o.runHere(j);
      o.onResult?.(i + 1, jobs.length);
    });
    return results;
  }
  const order = jobs.map((_, i) => i).sort((a, b) => o.cost(jobs[b]) - o.cost(jobs[a]) || a - b);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  // The worker imports the module (registering tsx first when it is TypeScript source, as under the
  // tests); a failure is a reply.
  const load = o.workerModule.pathname.endsWith('.ts')
    ? `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); })`
    : 'Promise.resolve()';
  const boot = `
    const { workerData: d } = require('node:worker_threads');
    ${load}
      .then(() => import(${JSON.stringify(o.workerModule.href)}))
      .catch((e) => {
        d.port.postMessage({ index: -1, error: 'worker: ' + (e && e.message ? e.message : e) });
        Atomics.add(d.counter, 0, 1);
        Atomics.notify(d.counter, 0);
      });`;
  const workers: Array<{ worker: Worker; port: MessagePort }> = [];
  let next = 0;
  let done = 0;
  const send = (w: { port: MessagePort }) => {
    if (next < order.length) {
      const index = order[next++];
      w.port.postMessage({ index, job: jobs[index] });
    }
  };
  try {
    for (let k = 0; k < n; k++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(boot, {
        eval: true,
        workerData: { port: port2, counter },
        transferList: [port2],
      });
      worker.unref();
      const w = { worker, port: port1 };
      workers.push(w);
      send(w);
    }
    let seen = 0;
    while (done < jobs.length) {
      Atomics.wait(counter, 0, seen);
      seen = Atomics.load(counter, 0);
      for (const w of workers) {
        for (let m = receiveMessageOnPort(w.port); m !== undefined; m = receiveMessageOnPort(w.port)) {
          const reply = m.message as WorkerReply<R>;
          if ('error' in reply) throw o.errorOf(reply.error);
          results[reply.index] = reply.result;
          done++;
          o.onResult?.(done, jobs.length);
          send(w);
        }
      }
    }
  } finally {
    for (const w of workers) {
      w.port.close();
      void w.worker.terminate();
    }
  }
  return results;
}

/**
 * URL of module `name` next to the module at `url`, with that module's own extension: `.ts` when
 * running from source, `.js` when running the compiled package.
 */
export function siblingModule(name: string, url: string): URL {
  const ext = url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, url);
}

/** URL of tsx's ESM registration API, which a worker needs to import TypeScript source modules. */
function tsxApiUrl(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  // Loaded as CommonJS (no import.meta.resolve): the package's ESM entry sits next to its CJS one.
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

/** The worker side of `runParallel`: runs each job it is sent and posts the result back. */
export function serveJobs<J, R>(data: { port: MessagePort; counter: Int32Array }, run: (job: J) => R): void {
  data.port.on('message', ({ index, job }: { index: number; job: J }) => {
    let reply: WorkerReply<R>;
    try {
      reply = { index, result: run(job) };
    } catch (e) {
      reply = { index, error: e instanceof Error ? e.message : String(e) };
    }
    data.port.postMessage(reply);
    Atomics.add(data.counter, 0, 1);
    Atomics.notify(data.counter, 0);
  });
}
