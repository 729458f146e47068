/**
 * Models no kernel file: the options of `mmulab lost-write` (can a guest write be lost under each
 * accessed/dirty policy of seed 002, with file-backed guest memory written back and reclaimed),
 * checked before anything is simulated.
 */
import { AD_POLICIES, type AdPolicy } from '../../kvm/ad-policy.ts';
import { UserError } from '../../sim/user-error.ts';
import { X86_MMUS } from '../access-tracking/options.ts';

/** The options of one lost-write run. */
export interface LostWriteOptions {
  /** The accessed/dirty policies to check, in order. */
  policies: readonly AdPolicy[];
  /** Random mode: seeds 1..seeds, one run each (per policy and write-notify setting). */
  seeds: number;
  /** Scheduler steps (vCPU, flusher, reclaim) per random run. */
  steps: number;
  /** Systematic mode instead of random: every interleaving up to `depth` steps. */
  systematic: boolean;
  /** Steps whose order the systematic mode enumerates (3^depth schedules at most). */
  depth: number;
  /** Pages of the guest's file-backed memory (the file's size). */
  pages: number;
  /** Pages of the simulated disk that holds the file. */
  diskPages: number;
  mmu: (typeof X86_MMUS)[number];
  /** EPT A/D bits; off (default) makes aging access-track SPTEs, so writes take the fast page fault. */
  eptAd: boolean;
  /** The file mappings checked: with write notification (page_mkwrite), without, or both. */
  writenotify: readonly boolean[];
}

/** Defaults: a small VM, so every run takes milliseconds. */
export const LOST_WRITE_DEFAULTS = {
  seeds: 20,
  steps: 1000,
  depth: 7,
  pages: 4,
  systematicPages: 2,
  diskPages: 256,
  mmu: 'tdp',
} as const;

/** A bad option of lost-write: the CLI prints the message in one line and exits 2. */
export class LostWriteOptionsError extends UserError {}

/** Raw options as the CLI gives them. */
export interface LostWriteRawOptions {
  policy?: string;
  seeds?: number;
  steps?: number;
  systematic?: boolean;
  depth?: number;
  pages?: number;
  diskPages?: number;
  mmu?: string;
  eptAd?: boolean;
  writenotify?: string;
}

const WRITENOTIFY = { on: [true], off: [false], both: [true, false] } as const;

function positive(name: string, v: number | undefined, dflt: number, max: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new LostWriteOptionsError(`${name} must be an integer from 1 to ${max}, not '${v}'`);
  return n;
}

/** A file backing must fit on the simulated disk that holds it; else LostWriteOptionsError. */
export function checkFileFitsDisk(pages: number, diskPages: number): void {
  if (pages > diskPages)
    throw new LostWriteOptionsError(
      `the file backing (${pages} pages) is larger than the simulated disk (${diskPages} pages)`,
    );
}

/**
 * Checks and completes raw options: an unknown policy, MMU or write-notify setting, a count out
 * of range, or a file larger than the disk → LostWriteOptionsError. Without --policy, all four.
 */
export function resolveLostWriteOptions(raw: LostWriteRawOptions): LostWriteOptions {
  const names = raw.policy === undefined || raw.policy === 'all' ? null : raw.policy.split(',');
  const policies =
    names === null
      ? AD_POLICIES
      : names.map((n) => {
          const p = AD_POLICIES.find((x) => x.name === n);
          if (p === undefined)
            throw new LostWriteOptionsError(
              `unknown policy '${n}' (known: ${AD_POLICIES.map((x) => x.name).join(', ')}, all)`,
            );
          return p;
        });
  const mmu = raw.mmu ?? LOST_WRITE_DEFAULTS.mmu;
  if (!(X86_MMUS as readonly string[]).includes(mmu))
    throw new LostWriteOptionsError(`--mmu must be one of ${X86_MMUS.join(', ')}, not '${mmu}'`);
  const wn = raw.writenotify ?? 'both';
  if (!(wn in WRITENOTIFY))
    throw new LostWriteOptionsError(`--writenotify must be on, off or both, not '${wn}'`);
  const systematic = raw.systematic ?? false;
  const dfltPages = systematic ? LOST_WRITE_DEFAULTS.systematicPages : LOST_WRITE_DEFAULTS.pages;
  const pages = positive('--pages', raw.pages, dfltPages, 4096);
  const diskPages = positive('--disk-pages', raw.diskPages, LOST_WRITE_DEFAULTS.diskPages, 1 << 20);
  checkFileFitsDisk(pages, diskPages);
  return {
    policies,
    seeds: positive('--seeds', raw.seeds, LOST_WRITE_DEFAULTS.seeds, 100000),
    steps: positive('--steps', raw.steps, LOST_WRITE_DEFAULTS.steps, 1000000),
    systematic,
    depth: positive('--depth', raw.depth, LOST_WRITE_DEFAULTS.depth, 12),
    pages,
    diskPages,
    mmu: mmu as LostWriteOptions['mmu'],
    eptAd: raw.eptAd ?? false,
    writenotify: WRITENOTIFY[wn as keyof typeof WRITENOTIFY],
  };
}
