import { describe, expect, it } from 'vitest';
import { type AccessedZap, AccessedZapTrail } from './accessed-zap-trail.ts';

const zap = (pfn: number, ns: number, over: Partial<AccessedZap> = {}): AccessedZap => ({
  ns,
  pfn,
  gfn: 0x1_0000_0000 + pfn,
  cause: 'change_prot_numa',
  outcome: 'dropped',
  ...over,
});

describe('AccessedZapTrail: the last accessed-leaf zap per frame', () => {
  it('gives back exactly what was recorded, the last record of a frame winning', () => {
    const t = new AccessedZapTrail(16);
    expect(t.get(3)).toBeUndefined();
    t.set(zap(3, 0));
    expect(t.get(3)).toEqual(zap(3, 0));
    t.set(zap(3, 250, { gfn: -1, cause: 'try_to_migrate', outcome: 'lru-gen-refs' }));
    t.set(zap(5, 7, { cause: 'other', outcome: 'idle-cleared' }));
    expect(t.get(3)).toEqual({ ns: 250, pfn: 3, gfn: -1, cause: 'try_to_migrate', outcome: 'lru-gen-refs' });
    expect(t.get(5)).toEqual({ ns: 7, pfn: 5, gfn: 0x1_0000_0005, cause: 'other', outcome: 'idle-cleared' });
    expect(t.get(4)).toBeUndefined();
  });

  it('a migrated folio takes its record along, keeping the zapped pfn; a frame with none moves nothing', () => {
    const t = new AccessedZapTrail(16);
    t.set(zap(2, 10));
    t.set(zap(9, 20));
    t.move(2, 12);
    expect(t.get(2)).toBeUndefined();
    expect(t.get(12)).toEqual(zap(2, 10));
    t.move(4, 9);
    expect(t.get(9)).toEqual(zap(9, 20));
    t.move(9, 12);
    expect(t.get(12)).toEqual(zap(9, 20));
    expect(t.get(9)).toBeUndefined();
  });
});
