/**
 * Models no kernel file: the engine's cost profiles (profiles/NAME.json or a path): every figure
 * with a unit and a source.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readDataFile } from './data-file.ts';
import { UserError } from './user-error.ts';

/**
 * Every simulated duration comes from one of these figures. Declared once, as data: the key, its unit
 * and what it is charged for. A profile file (profiles/NAME.json) gives each a value and a source.
 */
export const COST_TERMS = {
  sockets: ['sockets', 'CPU packages; each is one NUMA node with its own memory and memory controllers'],
  coresPerSocket: ['cores', 'physical cores per socket'],
  threadsPerCore: ['threads', 'SMT threads per core (host CPUs = sockets x cores x threads)'],
  cacheLineLocalNs: ['ns', 'atomic read-modify-write on a cache line this CPU already owns'],
  cacheLineTransferNs: ['ns', 'atomic read-modify-write that pulls the line from another CPU of the socket'],
  cacheLineRemoteNs: ['ns', 'atomic read-modify-write that pulls the line from a CPU on another socket'],
  cacheLineQueuedNs: [
    'ns',
    'added to a pull of the line for each RMW already queued ahead of it (requests for the line piling up while it is handed over)',
  ],
  cacheLineContendedNs: [
    'ns',
    'the least a pull of the line costs while another request waits besides the holder, whichever CPU it comes from (0: no floor)',
  ],
  turboMaxMhz: ['MHz', 'core clock with few cores of the socket active (the top turbo ratio limit)'],
  turboAllCoreMhz: ['MHz', 'core clock with every core of the socket active (the all-core turbo ratio)'],
  turboFullCores: [
    'cores',
    'active cores per socket up to which the top clock holds; from there it falls linearly to the all-core clock',
  ],
  smtSiblingSlowdown: [
    'factor',
    'how many times longer CPU work takes while the SMT sibling also issues CPU work (2 / the core throughput gain of SMT)',
  ],
  memBandwidthBytesPerNs: [
    'bytes/ns',
    "one socket's DRAM bandwidth (GB/s), shared by page zeroing and page-table walks on its node",
  ],
  wakeupNs: ['ns', 'waking a sleeping thread until it runs'],
  contextSwitchNs: ['ns', 'switching a CPU from one thread to another'],
  timesliceNs: ['ns', 'CFS slice before a runnable thread preempts another'],
  guestAccessNs: ['ns', 'guest touching one page through a valid translation (TLB miss, cache miss)'],
  vmExitNs: ['ns', 'VM exit to KVM, hardware and entry code'],
  vmEntryNs: ['ns', 'VM entry back into the guest'],
  kvmRunIoctlNs: ['ns', 'KVM_RUN ioctl round trip plus the ucall exit to userspace'],
  kvmFaultEntryNs: ['ns', 'EPT violation handling before fault-in (memslot lookup, caches top-up)'],
  fastPageFaultNs: ['ns', 'fast_page_fault: lockless walk and cmpxchg of the last SPTE'],
  tdpWalkLevelNs: ['ns', 'one level of a TDP MMU iterator step'],
  spteInstallNs: ['ns', 'make_spte plus the cmpxchg that installs a leaf'],
  spAllocNs: ['ns', 'allocating and linking a TDP MMU page-table page'],
  releaseFaultinNs: [
    'ns',
    'kvm_release_faultin_page under mmu_lock: mark the folio accessed and dirty, put it',
  ],
  hvaRangeNs: ['ns', 'kvm_handle_hva_range: SRCU, memslot interval-tree lookup per notifier call'],
  ageSpteNs: ['ns', 'aging one leaf SPTE (test and clear the Accessed bit)'],
  zapSpteNs: ['ns', 'zapping one leaf SPTE'],
  tlbFlushBaseNs: ['ns', 'kvm_flush_remote_tlbs: request and wait, fixed part'],
  tlbFlushPerVcpuNs: ['ns', 'kvm_flush_remote_tlbs: IPI and acknowledgement per running vCPU'],
  tlbFlushRemotePerVcpuNs: [
    'ns',
    'kvm_flush_remote_tlbs: IPI and acknowledgement per running vCPU on another socket',
  ],
  syscallNs: ['ns', 'system call entry and exit'],
  hostFaultNs: ['ns', 'handle_mm_fault overhead for one fault, without allocation and zeroing'],
  pageAllocNs: ['ns', 'taking one page from the per-CPU free list'],
  zoneRefillNs: ['ns', 'moving one pcp batch of pages between the zone and a per-CPU list under zone->lock'],
  pcpBatch: ['pages', 'pages moved from the zone to a per-CPU list per refill'],
  pageZeroNsPer4K: ['ns', 'clearing 4 KiB of memory (clear_page)'],
  lruAddNs: ['ns', 'adding one folio to the per-CPU LRU batch'],
  lruMoveFolioNs: ['ns', 'moving one folio of a per-CPU LRU batch onto its lruvec under lru_lock'],
  gupFastNs: ['ns', 'get_user_page_fast_only: lockless host page-table walk'],
  gupSlowNs: ['ns', 'get_user_pages_unlocked: VMA lookup and follow_page'],
  ptWalkLevelNs: ['ns', 'one level of a host page-table walk'],
  rmapWalkNs: ['ns', 'rmap_walk of one folio: anon_vma or i_mmap lookup, vma address'],
  pteYoungNs: ['ns', 'ptep_test_and_clear_young on one host PTE'],
  notifierCallNs: ['ns', 'mmu_notifier dispatch: SRCU and the subscription list, per call'],
  pagemapReadNs: ['ns', 'pagemap_read for one entry (mmap_lock held, page-table walk)'],
  pageIdleGetNs: ['ns', 'page_idle_get_folio for one pfn'],
  selftestPageNs: ['ns', 'selftest userspace work per page (gva to hva translation)'],
  lruGenAddNs: ['ns', 'lru_gen_add_folio: placing one folio in a generation'],
  folioIncGenNs: ['ns', 'sorting one folio off the oldest generation list (folio_inc_gen, list move)'],
  walkPmdNs: ['ns', 'walk_pmd_range: one PMD entry with its Bloom filter test'],
  walkPteNs: ['ns', 'walk_pte_range: examining one PTE'],
  folioUpdateGenNs: ['ns', 'folio_update_gen: promoting one young folio (its flags; it is sorted later)'],
  incMaxSeqNs: ['ns', 'inc_max_seq: starting a generation under lru_lock'],
  resetBatchSizeNs: [
    'ns',
    "reset_batch_size: applying an aging walk round's batched generation sizes under lru_lock",
  ],
  swapOutNs: ['ns', 'pageout: writing one 4 KiB page to the swap device'],
  swapInNs: ['ns', 'swap-in: reading one 4 KiB page back on a fault'],
  fileReadNs: ['ns', 'filemap_fault: reading one 4 KiB page of a regular file from disk'],
  filemapFaultNs: [
    'ns',
    "a shared file fault's own work on a page-cache page: filemap_fault's lookup, reference and lock, page_mkwrite, mapping and dirtying it",
  ],
  swapPageTransferNs: [
    'ns',
    'time the swap device is busy per 4 KiB page (its bandwidth), shared by all I/O',
  ],
  unmapNs: ['ns', 'try_to_unmap of one folio, without the notifier call'],
  rcuGracePeriodNs: ['ns', 'RCU grace period once the last old reader has left'],
  srcuGracePeriodNs: ['ns', 'SRCU (expedited) grace period once the last old reader has left'],
  jitter: ['fraction', 'run-to-run spread applied to fault and exit costs (0 = none)'],
} as const;

/** Name of one cost figure. */
export type CostTerm = keyof typeof COST_TERMS;
/** A resolved cost profile: every figure as a plain number in its unit. */
export type CostProfile = { readonly [K in CostTerm]: number } & { readonly name: string };

/** Most host CPUs a profile can describe (x86 NR_CPUS with CONFIG_MAXSMP). */
export const NR_CPUS = 8192;

/**
 * What the model can run, per unit (and for a few terms, per term): rates and clocks strictly
 * positive, topology and batch sizes whole numbers of sane size, durations at most 10 ms.
 */
const UNIT_BOUNDS: Record<string, { min: number; max: number; int?: boolean }> = {
  sockets: { min: 1, max: 64, int: true },
  cores: { min: 1, max: 1024, int: true },
  threads: { min: 1, max: 8, int: true },
  // Simulated time is whole nanoseconds: work that took no time could loop without time passing.
  ns: { min: 1, max: 1e7 },
  MHz: { min: 100, max: 10_000 },
  'bytes/ns': { min: 0.01, max: 1e6 },
  // zone_batchsize() caps the per-CPU refill batch at 63 pages.
  pages: { min: 1, max: 63, int: true },
  fraction: { min: 0, max: 0.5 },
  // 1: siblings do not slow each other; 2: a core issues no more for two threads than for one.
  factor: { min: 1, max: 2 },
};
const TERM_BOUNDS: Partial<Record<CostTerm, { min: number; max: number }>> = {
  // A surcharge on a pull, which has a time of its own: 0 charges none.
  cacheLineQueuedNs: { min: 0, max: 100 },
  // A floor under a pull's own time: 0 sets none.
  cacheLineContendedNs: { min: 0, max: 1000 },
  // The scheduler preempts every slice: a zero slice would never let a thread run.
  timesliceNs: { min: 1000, max: 1e7 },
};

function figure(term: CostTerm) {
  const [unit, description] = COST_TERMS[term];
  const b = { ...UNIT_BOUNDS[unit], ...TERM_BOUNDS[term] };
  const bounded = z.number().min(b.min).max(b.max);
  const value = b.int ? bounded.int() : bounded;
  return z
    .object({
      value,
      unit: z.literal(unit, { error: `unit must be ${unit}` }),
      source: z.string().min(1, 'source must say where the figure comes from'),
    })
    .describe(description);
}

/** The schema of a profile file (profiles/NAME.json); profiles/profile.schema.json is made from it. */
export const profileFileSchema = z
  .object({
    description: z.string().describe('one line: the machine the profile models'),
    extends: z
      .string()
      .optional()
      .describe(
        'a profile (name or path) whose figures this one copies, replacing only those it lists: another machine with the same kernel costs',
      ),
    costs: z
      .object(
        Object.fromEntries((Object.keys(COST_TERMS) as CostTerm[]).map((k) => [k, figure(k)])) as Record<
          CostTerm,
          ReturnType<typeof figure>
        >,
      )
      .partial()
      // A term the model does not know (a typo, or one a later version removed) is an error, not
      // a figure silently ignored.
      .strict(),
  })
  .superRefine((f, ctx) => {
    const c = f.costs;
    if (f.extends === undefined)
      for (const k of Object.keys(COST_TERMS))
        if (c[k as CostTerm] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['costs', k],
            message: 'missing (every figure is needed unless the profile names a base with "extends")',
          });
    if (c.sockets === undefined || c.coresPerSocket === undefined || c.threadsPerCore === undefined) return;
    if (c.sockets.value * c.coresPerSocket.value * c.threadsPerCore.value > NR_CPUS)
      ctx.addIssue({
        code: 'custom',
        path: ['costs', 'coresPerSocket', 'value'],
        message: `sockets x cores x threads must be at most ${NR_CPUS} host CPUs (NR_CPUS)`,
      });
  })
  .describe('An mmulab cost profile: every simulated duration comes from one of these figures.');

/** Thrown for an unknown or malformed profile; the CLI prints the message. */
export class ProfileError extends UserError {
  override readonly code = 'MMULAB_BAD_PROFILE';
}

const PROFILE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'profiles');

/** Names of the profiles shipped in profiles/. */
export function listProfiles(): string[] {
  return readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Validates a parsed profile file and returns its figures. */
export function parseProfile(name: string, json: unknown): CostProfile {
  const r = profileFileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ProfileError(`profile ${name}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return figures(name, r.data, []);
}

/** A file's figures, over those of the profile it extends (`chain`: the files read to get here). */
function figures(name: string, file: z.output<typeof profileFileSchema>, chain: string[]): CostProfile {
  const out: Record<string, number | string> = { name };
  if (file.extends !== undefined) Object.assign(out, loadProfileChain(file.extends, chain, name), { name });
  for (const [k, f] of Object.entries(file.costs)) if (f !== undefined) out[k] = f.value;
  const cpus = (out.sockets as number) * (out.coresPerSocket as number) * (out.threadsPerCore as number);
  if (cpus > NR_CPUS)
    throw new ProfileError(
      `profile ${name}: costs.coresPerSocket.value: sockets x cores x threads must be at most ${NR_CPUS} host CPUs (NR_CPUS)`,
    );
  return fastCopy(out as CostProfile);
}

/**
 * A copy of `p` with V8 fast properties: objects built key by key end up in dictionary mode, and
 * profile figures are read on every simulated operation. JSON.parse builds fast-mode objects.
 */
function fastCopy(p: CostProfile): CostProfile {
  return JSON.parse(JSON.stringify(p)) as CostProfile;
}

/**
 * Where a profile is: a name in profiles/ (`x86-tdp`), or a path to a JSON file (`fitted.json`,
 * `./my/host.json`). Returns the file and the profile's name (a file's name without `.json`).
 */
export function resolveProfile(nameOrPath: string): { path: string; name: string } {
  if (/^[A-Za-z0-9._-]+$/.test(nameOrPath) && listProfiles().includes(nameOrPath))
    return { path: join(PROFILE_DIR, `${nameOrPath}.json`), name: nameOrPath };
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes(sep))
    return { path: nameOrPath, name: basename(nameOrPath).replace(/\.json$/, '') };
  throw new ProfileError(
    `unknown profile '${nameOrPath}' (known: ${listProfiles().join(', ')}; or a path to a .json file)`,
  );
}

/** The parsed JSON of a profile file, unvalidated (for tools that write a derived profile). */
export function readProfileFile(nameOrPath: string): unknown {
  const { path } = resolveProfile(nameOrPath);
  return readDataFile(path, 'json', z.unknown(), (m) => new ProfileError(`profile ${m}`));
}

/** Loads a profile by name (profiles/NAME.json) or from a JSON file; ProfileError names file, line and field. */
export function loadProfile(nameOrPath: string): CostProfile {
  return loadProfileChain(nameOrPath, []);
}

function loadProfileChain(nameOrPath: string, chain: string[], child?: string): CostProfile {
  const { path, name } = resolveProfile(nameOrPath);
  const key = resolve(path);
  if (chain.includes(key))
    throw new ProfileError(`profile ${child}: extends: '${nameOrPath}' leads back to itself (a cycle)`);
  return figures(
    name,
    readDataFile(path, 'json', profileFileSchema, (m) => new ProfileError(`profile ${m}`)),
    [...chain, key],
  );
}

/** Each shipped profile's name and the first sentence of its description. */
export function describeProfiles(): { name: string; description: string }[] {
  return listProfiles().map((name) => {
    const raw = readProfileFile(name) as { description?: unknown };
    const d = typeof raw.description === 'string' ? raw.description : '';
    return { name, description: d.split(/(?<=\.)\s/)[0] };
  });
}

/** The profile used when none is named. */
export const DEFAULT_PROFILE = 'x86-tdp';

/** A copy of `base` with some figures replaced (for experiments and tests). */
export function withCosts(base: CostProfile, overrides: Partial<Record<CostTerm, number>>): CostProfile {
  return fastCopy({ ...base, ...overrides });
}

/** A profile where every cost is zero except the ones given: handy for exact-time unit tests. */
export function zeroProfile(overrides: Partial<Record<CostTerm, number>> = {}): CostProfile {
  const out: Record<string, number | string> = { name: 'zero' };
  for (const k of Object.keys(COST_TERMS)) out[k] = 0;
  out.sockets = 1;
  out.coresPerSocket = 64;
  out.threadsPerCore = 1;
  out.memBandwidthBytesPerNs = 1e9;
  out.turboMaxMhz = 3000;
  out.turboAllCoreMhz = 3000;
  out.turboFullCores = 64;
  out.smtSiblingSlowdown = 1;
  out.pcpBatch = 63;
  out.timesliceNs = 3_000_000;
  return fastCopy({ ...(out as CostProfile), ...overrides });
}
