import { describe, expect, it } from 'vitest';
import { OomKill } from '../../host/host.ts';
import { PAGE_SIZE, PTE_MAX_PFN } from '../../host/page-table.ts';
import { FIRST_NODE_PFN } from '../../host/phys-mem.ts';
import { loadProfile } from '../../sim/profile.ts';
import { profileCpus } from '../../sim/topology.ts';
import { splitNodes } from '../../vm/host-builder.ts';
import { bootPages, hostPagesFor } from './memstress-vm.ts';
import { OptionsError } from './options.ts';
import { runAccessTracking } from './run.ts';
import { checkRunSize } from './run-limits.ts';

const profile = loadProfile('x86-tdp');
const size = { vcpus: 1, vcpuBytes: 1 << 20, backing: 'anonymous', lruGen: true };

/** The frame past the host's last one, as createMemstressVm sizes the host by default. */
function hostEnd(vcpus: number, vcpuBytes: number): number {
  const pages = hostPagesFor({ vcpus, vcpuBytes }, profileCpus(profile), profile.pcpBatch);
  return FIRST_NODE_PFN + splitNodes(pages, profile.sockets).reduce((a, b) => a + b, 0);
}

describe('checkRunSize', () => {
  it('refuses host memory that cannot boot the VM, and boots at the minimum it states', () => {
    const min = bootPages(1, 1 << 20);
    expect(min).toBe(266);
    expect(() => checkRunSize({ ...size, hostMemoryBytes: (min - 1) * PAGE_SIZE }, profile)).toThrow(
      'hostMemoryBytes: 1060K of host memory cannot boot the VM; it needs at least 1064K (the pages the selftest writes before its vCPUs run)',
    );
    // At the minimum the VM is created; the guest then runs out of memory: an OOM kill, not a crash.
    expect(() =>
      runAccessTracking({ vcpus: 1, vcpuBytes: 1 << 20, lruGen: true, hostMemoryBytes: min * PAGE_SIZE }),
    ).toThrow(OomKill);
    for (const [v, b] of [
      [4, 1 << 20],
      [16, 1 << 20],
    ]) {
      const atMin = { vcpus: v, vcpuBytes: b, lruGen: true, hostMemoryBytes: bootPages(v, b) * PAGE_SIZE };
      expect(() => runAccessTracking(atMin)).toThrow(OomKill);
      expect(() =>
        runAccessTracking({ ...atMin, hostMemoryBytes: atMin.hostMemoryBytes - PAGE_SIZE }),
      ).toThrow(OptionsError);
    }
  });

  it('refuses guest memory whose host frames a host PTE cannot address, and states what fits', () => {
    let err = '';
    try {
      checkRunSize({ ...size, vcpus: 64, vcpuBytes: 64 * 2 ** 30 }, profile);
    } catch (e) {
      err = (e as Error).message;
    }
    expect(err).toMatch(
      /^4096\.00 GiB of guest memory \(-v x -b\) needs more host memory than a host PTE can address \(511\.99 GiB of frames\); at most (\d+\.\d\d) GiB fits$/,
    );
    // The size it states fits (its host ends within PTE_MAX_PFN); 64 MiB more per vCPU does not.
    const fit = Number(/at most (\S+) GiB/.exec(err)![1]) * 2 ** 30;
    const perVcpu = Math.floor(fit / 64 / PAGE_SIZE) * PAGE_SIZE;
    expect(hostEnd(64, perVcpu)).toBeLessThanOrEqual(PTE_MAX_PFN);
    expect(() => checkRunSize({ ...size, vcpus: 64, vcpuBytes: perVcpu }, profile)).not.toThrow();
    expect(hostEnd(64, perVcpu + (64 << 20))).toBeGreaterThan(PTE_MAX_PFN);
    expect(() => checkRunSize({ ...size, vcpus: 64, vcpuBytes: perVcpu + (64 << 20) }, profile)).toThrow(
      OptionsError,
    );
  });

  it('refuses host memory and swap past what a PTE can address', () => {
    expect(() => checkRunSize({ ...size, hostMemoryBytes: 2 ** 40 }, profile)).toThrow(
      'hostMemoryBytes: 1024.00 GiB of host memory is more than a host PTE can address; at most 511.98 GiB fits',
    );
    expect(() => checkRunSize({ ...size, hostMemoryBytes: 2 ** 30, swapBytes: 2 ** 40 }, profile)).toThrow(
      'swapBytes: 1024.00 GiB of swap is more than a swap PTE can address; at most 511.99 GiB fits',
    );
  });

  it('refuses runs over the simulator memory limit, with the size that fits', () => {
    expect(() => checkRunSize({ ...size, vcpuBytes: 2 ** 34, memoryLimitBytes: 2 ** 27 }, profile)).toThrow(
      /^16\.00 GiB of guest memory \(-v x -b\) needs 0\.\d\d GiB of simulator memory here, over the 0\.12 GiB limit; at most \d\.\d\d GiB fits$/,
    );
  });
});
