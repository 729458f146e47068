import { describe, expect, it } from 'vitest';
import { KvmRunError } from '../kvm/kvm-run-error.ts';
import { EXIT_FAILED, reportError } from './errors.ts';

describe('reportError', () => {
  it('a KVM_RUN error is a failed run: one line with the page events, exit 1', () => {
    let err = '';
    const e = new KvmRunError(-14, 0x100001, 0x1201, [
      { seq: 3, pfn: 0x1201, op: 'try_get failed', count: 0 },
    ]);
    expect(reportError(e, { out: () => {}, err: (s) => (err += s) })).toBe(EXIT_FAILED);
    expect(err).toBe(
      'mmulab: KVM_RUN returned -14 (kvm_handle_error_pfn for gfn 0x100001, host pfn 0x1201); page events: try_get failed (refcount 0)\n',
    );
  });
});
