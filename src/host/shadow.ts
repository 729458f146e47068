/**
 * Shadow entries (mm/workingset.c pack_shadow): what an eviction leaves where the page was (a swap
 * slot, or a file's page-cache slot) so that a refault can be judged: the evicting lruvec's memcg id
 * and node, the token's sequence (min_seq at eviction) and refs, and whether the folio had
 * PG_workingset. Struct of arrays indexed by slot.
 */
export class ShadowEntries {
  readonly memcg: Uint16Array;
  readonly nid: Uint8Array;
  readonly seq: Uint32Array;
  /** Bits 0-1: the token's refs (max(refs - 1, 0)); bit 2: workingset. */
  readonly refs: Uint8Array;

  constructor(n: number) {
    this.memcg = new Uint16Array(n);
    this.nid = new Uint8Array(n);
    this.seq = new Uint32Array(n);
    this.refs = new Uint8Array(n);
  }

  /** pack_shadow into slot `i`. */
  store(i: number, memcg: number, nid: number, seq: number, refsMinusOne: number, workingset: boolean): void {
    this.memcg[i] = memcg;
    this.nid[i] = nid;
    this.seq[i] = seq;
    this.refs[i] = refsMinusOne | (workingset ? 4 : 0);
  }
}
