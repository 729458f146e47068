import { describe, expect, it } from 'vitest';
import { Engine } from '../sim/engine.ts';
import { loadProfile } from '../sim/profile.ts';
import { UserError } from '../sim/user-error.ts';
import { checkDeviceSize, mmapDevice } from './device-mem.ts';
import { Host } from './host.ts';
import { VM_IO, VM_MIXEDMAP, VM_PFNMAP } from './vma.ts';

function host(): Host {
  return new Host(new Engine({ profile: loadProfile('x86-tdp'), seed: 1 }), { nodePages: [8192] });
}

describe('device memory mappings', () => {
  it('a PFNMAP not a multiple of its mapping size is a user error, found before any fault', () => {
    expect(() => checkDeviceSize('pfnmap', 3 << 20, 2)).toThrow(UserError);
    expect(() => checkDeviceSize('pfnmap', 3 << 20, 2)).toThrow(
      'PFNMAP size 3145728 is not a multiple of its mapping size 2097152 bytes (2m)',
    );
    expect(() => checkDeviceSize('pfnmap', 2 ** 29, 3)).toThrow('mapping size 1073741824 bytes (1g)');
    expect(() => checkDeviceSize('non-refcounted', 4096, 1)).toThrow(
      'non-refcounted size 4096 is not a multiple of 2097152 bytes (2m)',
    );
    expect(() => checkDeviceSize('pfnmap', 4 << 20, 2)).not.toThrow();
  });

  it('BARs go above RAM, aligned to their mapping size, with no struct page; VMAs carry the driver flags', () => {
    const h = host();
    const mm = h.createMm();
    const a = mmapDevice(mm, 'pfnmap', 4 << 20, 2);
    const b = mmapDevice(mm, 'pfnmap', 2 ** 30, 3);
    expect(a.barPfn).toBe(Math.ceil(h.mem.maxPfn / 512) * 512);
    expect(b.barPfn).toBe(262144);
    expect(h.mem.refs.pfnValid(a.barPfn)).toBe(false);
    expect(b.vma.start % 2 ** 30).toBe(0);
    expect(a.vma.vmFlags).toBe(VM_IO | VM_PFNMAP);
    expect(mmapDevice(mm, 'mixedmap', 4096).vma.vmFlags).toBe(VM_MIXEDMAP);
    expect(mmapDevice(mm, 'non-refcounted', 2 << 20).vma.vmFlags).toBe(VM_IO | VM_PFNMAP);
  });
});
