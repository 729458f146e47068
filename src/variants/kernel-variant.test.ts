import { describe, expect, it } from 'vitest';
import { runAccessTracking } from '../experiments/access-tracking/run.ts';
import { KERNEL_VARIANTS, kernelVariant } from './kernel-variant.ts';

const opts = { vcpus: 1, vcpuBytes: 4 << 20, lruGen: true } as const;
const markNs = (r: ReturnType<typeof runAccessTracking>) =>
  r.phases.filter((p) => p.name.startsWith('Mark')).map((p) => p.ns);

describe('kernel variants', () => {
  it('names every variant once, with a description', () => {
    const names = KERNEL_VARIANTS.map((v) => v.name);
    expect(names).toEqual(['pre-6.12', '6.12', '6.15', 'v4', 'v2-bitmap', 'v7-fast-only']);
    for (const v of KERNEL_VARIANTS) expect(v.description.length).toBeGreaterThan(80);
    expect(kernelVariant('5.10')).toBeUndefined();
  });

  it('passes the lru_gen checks with 6.12, 6.15, v4, v2-bitmap and v7-fast-only', () => {
    for (const kernel of ['6.12', '6.15', 'v4', 'v2-bitmap', 'v7-fast-only']) {
      const r = runAccessTracking({ ...opts, kernel });
      expect([kernel, r.failure, r.lruGenGenerations]).toEqual([kernel, null, [3, 4, 5]]);
    }
  });

  it('v2-bitmap asks KVM about 64 pages per call and ages faster than one call per page', () => {
    const bitmap = runAccessTracking({ ...opts, kernel: 'v2-bitmap' });
    const mainline = runAccessTracking({ ...opts, kernel: '6.15' });
    // 1024 test pages in chunks of 64: 16 test calls and 16 clear calls per aging pass, 3 passes
    // (plus the memslot-0 pages, in chunks of their own).
    expect(bitmap.counters.kvm.ageGfnCalls).toBeLessThan(mainline.counters.kvm.ageGfnCalls / 20);
    expect(bitmap.counters.kvm.sptesAged).toBe(mainline.counters.kvm.sptesAged);
    for (let i = 0; i < 2; i++) expect(markNs(bitmap)[i]).toBeLessThan(markNs(mainline)[i]);
    // With write-locked KVM aging the bitmap is unreliable: back to one call per page.
    const locked = runAccessTracking({ ...opts, kernel: 'v2-bitmap', aging: 'write-lock' });
    expect(locked.counters.kvm.ageGfnCalls).toBe(
      runAccessTracking({ ...opts, kernel: '6.12' }).counters.kvm.ageGfnCalls,
    );
  });

  it('v7-fast-only skips a KVM that cannot age without mmu_lock, and the checks fail', () => {
    const r = runAccessTracking({ ...opts, kernel: 'v7-fast-only', aging: 'write-lock' });
    expect(r.counters.kvm.ageGfnCalls).toBe(0);
    expect(r.failure).toMatch(/^Too many pages still idle/);
  });
});
