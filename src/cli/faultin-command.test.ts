import { describe, expect, it } from 'vitest';
import { main } from './main.ts';

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmulab faultin', () => {
  it('prints one row per backing and variant; pre-6.13 refuses a non-refcounted page with KVM_RUN -EFAULT', () => {
    const r = run(
      'faultin',
      '--backing',
      'pfnmap-2m,non-refcounted',
      '--variant',
      'pre-6.13,6.13',
      '-b',
      '4M',
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const rows = r.out.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 16).join(' '))).toEqual([
      'backing variant walk faults fast-gup slow-gup remapped fixups conv spte-4k spte-2m spte-1g refs-taken refs-dropped rc-errors fault-in(ms)',
      'pfnmap-2m pre-6.13 gup 2 0 0 2 2 0 0 2 0 0 0 0 0.118',
      'pfnmap-2m 6.13 gup 2 0 0 2 2 0 0 2 0 0 0 0 0.118',
      'non-refcounted pre-6.13 gup 2 0 0 1 2 0 1 0 0 1 1 0 0.006',
      'non-refcounted 6.13 gup 1024 0 0 1024 1024 0 1024 0 0 0 0 0 2.666',
    ]);
    expect(rows[3]).toContain(
      'KVM_RUN returned -14 (kvm_handle_error_pfn for gfn 0x100001, host pfn 0x1201); page events: try_get failed (refcount 0)',
    );
  });

  it('shmem read then written: written-back, unneeded and lost columns; no-dirty loses every second-pass write', () => {
    const r = run('faultin', '--backing', 'shmem', '--variant', '6.13,no-dirty', '-b', '1M', '--read');
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('backing'));
    expect(rows.map((l) => l.split(/\s+/).slice(-5).join(' '))).toEqual(
      ['256 0 0 ok', '0 0 256 ok'].map((x) => `6.094 ${x}`),
    );
  });

  it('--walk all --populate: a gup and a converged row per backing and variant', () => {
    const r = run(
      'faultin',
      '--backing',
      'thp',
      '--variant',
      '6.13',
      '-b',
      '4M',
      '--walk',
      'all',
      '--populate',
    );
    const rows = r.out.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('backing'));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 9).join(' '))).toEqual([
      'thp 6.13 gup 2 2 0 0 0 0',
      'thp 6.13 converged 2 0 0 0 0 2',
    ]);
  });

  it('--json carries every counter', () => {
    const r = run('faultin', '--backing', 'pfnmap-1g', '--variant', '6.13', '-b', '1G', '--json');
    const j = JSON.parse(r.out);
    expect(j.results[0]).toMatchObject({
      backing: 'pfnmap-1g',
      faults: 1,
      spte1g: 1,
      refsTaken: 0,
      runError: null,
    });
  });
});
