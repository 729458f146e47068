import { type Command, Option } from 'commander';
import {
  LINE_PLACEMENTS,
  type LineContentionResult,
  type LinePlacement,
  runLineContention,
} from '../experiments/micro/line-contention.ts';
import { MicroOptionsError } from '../experiments/micro/micro-options.ts';
import {
  FAULT_LOCKS,
  type FaultLock,
  PAGE_FAULT_KERNELS,
  PAGE_FAULT_MODES,
  PAGE_FAULT_TESTS,
  type PageFaultKernel,
  type PageFaultMode,
  type PageFaultResult,
  type PageFaultTest,
  runPageFault,
} from '../experiments/micro/page-fault.ts';
import {
  PFT_DEFAULT_MEMSIZE,
  PFT_KERNELS,
  type PftKernel,
  type PftResult,
  runPft,
} from '../experiments/micro/pft.ts';
import { SEED003_PROFILE } from '../experiments/published.ts';
import { formatTimeReport } from '../sim/time-report.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './errors.ts';
import { parseSize } from './parse-size.ts';

/** The micro-experiments, by name. */
export const MICRO_EXPERIMENTS = ['line-contention', 'page-fault', 'pft'] as const;

/** The profile pft runs on by default: the machine of its references (references/micro-pft.yaml). */
const PFT_PROFILE = 'skx-2s-112';

function formatLineContention(r: LineContentionResult): string {
  return [
    `# mmulab micro line-contention: ${r.threads} thread(s) doing atomic RMWs on one cache line, simulated`,
    `# profile ${r.profile}, placement ${r.placement}, CPUs ${r.cpus.join(',')}`,
    `rmws                : ${r.rmws}`,
    `elapsed             : ${(r.elapsedNs / 1e9).toFixed(9)}s`,
    `ns per RMW on line  : ${r.nsPerRmw.toFixed(1)} (two threads: one hand-off)`,
    `RMWs per second     : ${Math.round(r.rmwsPerSec)}`,
    `ns per op per thread: ${r.nsPerOpPerThread.toFixed(1)}`,
    `transfers           : ${r.transfers} (${r.remoteTransfers} across sockets)`,
    '',
  ].join('\n');
}

function formatPageFault(r: PageFaultResult): string {
  const thp = r.thp;
  return [
    `# mmulab micro page-fault: will-it-scale ${r.test}, ${r.threads} task(s) in ${r.mode} mode${thp ? ' with THP' : ''}, simulated`,
    `# profile ${r.profile}, fault lock ${r.faultLock}${r.kernel === null ? '' : ` (kernel ${r.kernel})`}, ${r.memsize / 2 ** 20} MiB x ${r.iterations} iteration(s) per task${r.warmedUpNs > 0 ? ' (the first fills the page cache, not counted)' : ''}, CPUs ${r.cpus.join(',')}`,
    `pages per second    : ${Math.round(r.pagesPerSec)} (all tasks together)`,
    `per task ops        : ${Math.round(r.pagesPerSec / r.threads)} pages/s (mean)`,
    `faults              : ${r.faults}`,
    ...(thp
      ? [
          `huge faults         : ${thp.hugeFaults} (2 MiB folios), ${thp.pageFaults} of 4 KiB`,
          `writes, no fault    : ${thp.writesWithoutFault}`,
          `folios freed        : ${thp.foliosFreed}`,
        ]
      : []),
    ...(r.file
      ? [
          `page cache          : ${r.file.pageCacheMisses} pages read in (the warm-up), ${r.file.pageCacheHits} hits`,
          `warmed up at        : ${(r.warmedUpNs / 1e9).toFixed(9)}s (the counted iterations start together then)`,
        ]
      : []),
    `elapsed             : ${(r.elapsedNs / 1e9).toFixed(9)}s`,
    `queued on mmap_lock : ${r.readersQueued} faults behind a writer, ${r.writersQueued} writers behind a munmap`,
    `TLB flushes         : ${r.tlbFlushes} (${r.tlbFlushIpis} IPIs)`,
    ...(r.file ? ['# the report below covers the whole run, the warm-up iteration included'] : []),
    formatTimeReport(r.time),
    '',
  ].join('\n');
}

function formatPft(r: PftResult): string {
  return [
    `# mmulab micro pft: mmtests pft, ${r.threads} thread(s) of one process fault one region's pages, simulated`,
    `# profile ${r.profile}, kernel ${r.kernel}, ${r.pages} pages (${r.pagesPerThread} per thread), threads per socket ${r.threadsPerSocket.join('/')}, CPUs ${r.cpus.join(',')}`,
    `faults per second   : ${Math.round(r.faultsPerSec)} (pft's fault/wsec: all threads together)`,
    `per thread          : ${Math.round(r.faultsPerSec / r.threads)} faults/s (mean)`,
    `elapsed             : ${(r.elapsedNs / 1e9).toFixed(9)}s`,
    `trylock retries     : ${r.trylockRetries} (failed cmpxchg's of mmap_read_trylock)`,
    formatTimeReport(r.time),
    '',
  ].join('\n');
}

/** Runs pft with the CLI's options (checked first: one line, exit 2). */
function pft(opts: Record<string, string>, memsizeGiven: boolean): PftResult {
  const memsize = memsizeGiven ? parseSize(opts.memsize) : PFT_DEFAULT_MEMSIZE;
  if (!Number.isFinite(memsize) || memsize <= 0)
    throw new UsageError(
      `--memsize: invalid size '${opts.memsize}' (a number with an optional K, M, G or T)`,
    );
  return runPft(
    { threads: Number(opts.threads), memsize, kernel: (opts.kernel ?? '5.12') as PftKernel },
    opts.profile ?? PFT_PROFILE,
  );
}

/** A positive whole number of a micro option, or a one-line usage error. */
function wholeArg(name: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new UsageError(`${name} must be a whole number >= 1, not '${v}'`);
  return Number(v);
}

/** Runs page-fault with the CLI's options (checked first: one line, exit 2). */
function pageFault(opts: Record<string, string>): PageFaultResult {
  if (!(PAGE_FAULT_TESTS as readonly string[]).includes(opts.test))
    throw new UsageError(`--test must be one of ${PAGE_FAULT_TESTS.join(', ')}, not '${opts.test}'`);
  if (!(PAGE_FAULT_MODES as readonly string[]).includes(opts.mode))
    throw new UsageError(`--mode must be one of ${PAGE_FAULT_MODES.join(', ')}, not '${opts.mode}'`);
  if (!(FAULT_LOCKS as readonly string[]).includes(opts.faultLock))
    throw new UsageError(`--fault-lock must be one of ${FAULT_LOCKS.join(', ')}, not '${opts.faultLock}'`);
  if (opts.kernel !== undefined && !(PAGE_FAULT_KERNELS as readonly string[]).includes(opts.kernel))
    throw new UsageError(
      `--kernel must be one of ${PAGE_FAULT_KERNELS.join(', ')} for page-fault, not '${opts.kernel}'`,
    );
  const memsize = parseSize(opts.memsize);
  if (!Number.isFinite(memsize) || memsize <= 0)
    throw new UsageError(
      `--memsize: invalid size '${opts.memsize}' (a number with an optional K, M, G or T)`,
    );
  return runPageFault(
    {
      test: opts.test as PageFaultTest,
      threads: Number(opts.threads),
      mode: opts.mode as PageFaultMode,
      memsize,
      ...(opts.iterations === undefined ? {} : { iterations: wholeArg('--iterations', opts.iterations) }),
      faultLock: opts.faultLock as FaultLock,
      ...(opts.kernel === undefined ? {} : { kernel: opts.kernel as PageFaultKernel }),
      ...(opts.thp ? { thp: true } : {}),
    },
    opts.profile,
  );
}

/** `mmulab micro EXPERIMENT --threads N`: micro-experiments that check a profile against hardware. */
export function microCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('micro')
    .description('micro-experiments against published hardware figures (docs/micro-references.md)')
    .argument('<experiment>', `one of: ${MICRO_EXPERIMENTS.join(', ')}`)
    .option('--threads <n>', 'threads (one per CPU)', '2')
    .addOption(
      new Option('--placement <where>', 'where the threads run')
        .choices([...LINE_PLACEMENTS])
        .default('same-socket'),
    )
    .option('--test <name>', `page-fault: will-it-scale's ${PAGE_FAULT_TESTS.join(' or ')}`)
    .option('--mode <mode>', `page-fault: ${PAGE_FAULT_MODES.join(' or ')}`, 'thread')
    .option('--memsize <size>', 'page-fault: bytes each task maps per iteration (128M); pft: the region (1G)')
    .option(
      '--iterations <k>',
      'page-fault: mmap-fault-munmap iterations per task (default 1; page_fault2/3: 2, the first not counted)',
    )
    .option('--fault-lock <lock>', `page-fault: ${FAULT_LOCKS.join(' or ')}`, 'mmap_lock')
    .option('--thp', 'page-fault: transparent huge pages (enabled=always): 2 MiB faults', false)
    .option(
      '--kernel <version>',
      `pft: the kernel's mmap_lock (${PFT_KERNELS.join(' or ')}; default 5.12); page-fault: the mmap_lock fault path's (${PAGE_FAULT_KERNELS.join(' or ')}; default 5.13)`,
    )
    .option('--profile <name>', `cost profile (default: ${SEED003_PROFILE}; pft: ${PFT_PROFILE})`)
    .option('--json', 'print the result as JSON', false)
    .action((experiment: string, opts) => {
      if (!(MICRO_EXPERIMENTS as readonly string[]).includes(experiment))
        throw new UsageError(
          `micro: unknown experiment '${experiment}' (known: ${MICRO_EXPERIMENTS.join(', ')})`,
        );
      if (!/^\d+$/.test(opts.threads) || Number(opts.threads) < 1)
        throw new UsageError(`--threads must be a whole number >= 1, not '${opts.threads}'`);
      if (opts.kernel !== undefined && experiment === 'line-contention')
        throw new UsageError('--kernel applies to pft and page-fault only, not to line-contention');
      if (experiment === 'pft' && opts.mode !== 'thread')
        throw new UsageError(`pft runs threads of one process: --mode ${opts.mode} is not one of its modes`);
      if (opts.thp && experiment !== 'page-fault')
        throw new UsageError(`--thp applies to page-fault only, not to ${experiment}`);
      if (opts.test !== undefined && experiment !== 'page-fault')
        throw new UsageError(`--test applies to page-fault only, not to ${experiment}`);
      let text: string;
      try {
        if (experiment === 'pft') {
          const r = pft(opts, opts.memsize !== undefined);
          text = opts.json ? `${JSON.stringify({ simulated: true, ...r })}\n` : formatPft(r);
        } else if (experiment === 'page-fault') {
          const r = pageFault({
            ...opts,
            test: opts.test ?? 'page_fault1',
            memsize: opts.memsize ?? '128M',
            profile: opts.profile ?? SEED003_PROFILE,
          });
          text = opts.json ? `${JSON.stringify({ simulated: true, ...r })}\n` : formatPageFault(r);
        } else {
          const r: LineContentionResult = runLineContention(
            { threads: Number(opts.threads), placement: opts.placement as LinePlacement },
            opts.profile ?? SEED003_PROFILE,
          );
          text = opts.json ? `${JSON.stringify({ simulated: true, ...r })}\n` : formatLineContention(r);
        }
      } catch (e) {
        if (e instanceof MicroOptionsError) throw new UsageError(e.message);
        throw e;
      }
      io.out(text);
      onExit(0);
    });
}
