/**
 * Models no kernel file: experiment: `mmulab sysfs`, one simulated kernel file read or written
 * on a small MGLRU scenario.
 */
import { errnoName } from '../fs/errno.ts';
import { GuestStats, memstressGuestPass } from '../guest/memstress.ts';
import { kvmArchVcpuIoctlRun } from '../kvm/vcpu-run.ts';
import { Engine } from '../sim/engine.ts';
import { type CostProfile, DEFAULT_PROFILE, loadProfile } from '../sim/profile.ts';
import { DEFAULT_KERNEL, kernelVariant } from '../variants/kernel-variant.ts';
import { createMemstressVm, type MemstressVm } from './access-tracking/memstress-vm.ts';
import { OptionsError, parseAccessTrackingOptions } from './access-tracking/options.ts';
import { checkRunSize } from './access-tracking/run-limits.ts';

/** Options of `runSysfs`. */
export interface SysfsOptions {
  path: string;
  /** Text (UTF-8) or bytes to write; without it the file is read. */
  write?: string | Uint8Array;
  kernel?: string;
  vcpus?: number;
  vcpuBytes?: number;
  seed?: number;
  /** Refuse scenarios whose simulated state would exceed this many bytes. */
  memoryLimitBytes?: number;
}

/** What the file access returned: the text read, or the bytes written, or a negative errno. */
export interface SysfsResult {
  path: string;
  text: string | null;
  /** The bytes read, as the file returned them (binary files such as page_idle/bitmap). */
  data: Uint8Array | null;
  ret: number;
  /** After a write, the file read back (when it can be read). */
  after: string | null;
  /** Every simulated file of the scenario. */
  files: string[];
}

const dec = new TextDecoder();

/**
 * Reads or writes one simulated kernel file against a scenario: a memstress VM (MGLRU on, the VMM
 * in memcg access_tracking_perf_test) whose vCPUs have written all their memory once.
 */
export function runSysfs(
  o: SysfsOptions,
  profileOrName: CostProfile | string = DEFAULT_PROFILE,
): SysfsResult {
  const kernel = kernelVariant(o.kernel ?? DEFAULT_KERNEL);
  if (kernel === undefined) throw new OptionsError(`unknown kernel '${o.kernel}'`);
  const profile = typeof profileOrName === 'string' ? loadProfile(profileOrName) : profileOrName;
  const size = parseAccessTrackingOptions({
    vcpus: o.vcpus ?? 1,
    vcpuBytes: o.vcpuBytes ?? 64 << 20,
    lruGen: true,
  });
  checkRunSize({ ...size, memoryLimitBytes: o.memoryLimitBytes }, profile);
  const engine = new Engine({ profile, seed: o.seed ?? 0 });
  const res: SysfsResult = { path: o.path, text: null, data: null, ret: 0, after: null, files: [] };
  engine.spawn('main', function* (t) {
    const vm: MemstressVm = yield* createMemstressVm(t, engine, {
      vcpus: size.vcpus,
      vcpuBytes: size.vcpuBytes,
      overlap: false,
      backing: 'anonymous',
      aging: kernel.kvmAging,
      eptAd: true,
      lruGen: true,
      kernel,
    });
    res.files = vm.vfs.paths();
    const stats = new GuestStats();
    for (const vcpu of vm.kvm.vcpus)
      yield* kvmArchVcpuIoctlRun(t, vcpu, memstressGuestPass(t, vcpu, vm.args, { seed: 1 }, stats), false);
    vm.host.lru.drainAll(t);
    const read = function* () {
      const r = yield* vm.vfs.pread(t, o.path, 0, 1 << 20);
      return typeof r === 'number' ? r : dec.decode(r);
    };
    if (o.write === undefined) {
      const r = yield* vm.vfs.pread(t, o.path, 0, 1 << 20);
      if (typeof r === 'number') res.ret = r;
      else {
        res.data = r;
        res.text = dec.decode(r);
      }
    } else {
      const data = typeof o.write === 'string' ? new TextEncoder().encode(o.write) : o.write;
      res.ret = yield* vm.vfs.pwrite(t, o.path, 0, data);
      const r = yield* read();
      if (typeof r === 'string') res.after = r;
    }
  });
  engine.run();
  return res;
}

const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '0': 0, '\\': 92 };

/**
 * The bytes of a `--write` argument: UTF-8, with the escapes \n \t \r \v \f \0 \\ and \xHH
 * (a shell argument cannot hold a NUL byte). Any other backslash stays as it is.
 */
export function parseWriteEscapes(text: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '\\' && next !== undefined && next in ESCAPES) {
      out.push(ESCAPES[next]);
      i++;
    } else if (c === '\\' && next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(...enc.encode(c));
  }
  return Uint8Array.from(out);
}

/** "-EINVAL (errno 22)"-style text for a negative return. */
export function describeErrno(ret: number): string {
  return `-${errnoName(ret)}`;
}
