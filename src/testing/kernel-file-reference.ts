/**
 * An independent reference of how the kernel (6.15) treats writes to the simulated kernel files,
 * written straight from the sources (mm/vmscan.c lru_gen_seq_write, run_cmd, run_aging,
 * run_eviction, enabled_store, min_ttl_ms_store; mm/memcontrol.c memory_reclaim; mm/page_idle.c;
 * fs/kernfs/file.c, fs/sysfs/file.c and cgroup_file_write for the sizes) with regular expressions
 * and plain loops instead of the ported helpers of src/fs. Only tests and benchmarks use it.
 */

const EINVAL = -22;
const EEXIST = -17;
const E2BIG = -7;
const ENXIO = -6;
const PAGE = 4096;
const U64 = 1n << 64n;

/** Latin-1 view of bytes: one char per byte. */
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
/** The C string of a buffer: up to the first NUL. */
const cstr = (b: Uint8Array) => latin1(b).split('\0')[0];
/** The kernel's isspace as a character class. */
const WS = '[\\t\\n\\v\\f\\r \\xa0]';
const isWs = (c: string) => /^[\t\n\v\f\r \xa0]$/.test(c);

/** kstrtouint(s, 0) and kstrtoull: a number, or EINVAL / -ERANGE. */
export function refKstrtoull(s: string, max = U64 - 1n): bigint | number {
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))\n?$/.exec(s);
  if (m === null) return EINVAL;
  const v =
    m[1] !== undefined ? BigInt(`0x${m[1]}`) : m[2] !== undefined ? BigInt(`0o${m[2]}`) : BigInt(m[3]);
  return v > max ? -34 : v;
}

/** How the tests and the bench stub the lruvec work below run_cmd's checks. */
export interface LruGenEnv {
  /** memcg ids that exist. */
  memcgIds: number[];
  /** Node ids; `nodeHasMemory[nid]`. */
  nodeHasMemory: boolean[];
  /** max_seq and min_seq [anon, file] of a lruvec. */
  seqs(memcgId: number, nid: number): { maxSeq: number; minSeq: number[] };
  /** get_swappiness. */
  defaultSwappiness: number;
}

/** A stubbed lruvec operation reached through run_cmd. */
export type LruGenCall = string;

/** The stub rule for aging: try_to_inc_max_seq fails (-EEXIST) only at swappiness 1. */
export const stubAgingSucceeds = (swappiness: number) => swappiness !== 1;

/** lru_gen_seq_write: the return value and the lruvec operations it reaches. */
export function refLruGenWrite(data: Uint8Array, env: LruGenEnv): { ret: number; calls: LruGenCall[] } {
  const calls: LruGenCall[] = [];
  let err = EINVAL;
  for (const raw of cstr(data).split(/[,;\n]/)) {
    const tok = raw.replace(new RegExp(`^${WS}+`), '');
    if (tok === '') continue;
    err = refLruGenCmd(tok, env, calls);
    if (err) break;
  }
  return { ret: err || data.length, calls };
}

/** sscanf "%c %u %u %lu %n %4s %n %lu %n", the swappiness string, then run_cmd. */
function refLruGenCmd(tok: string, env: LruGenEnv, calls: LruGenCall[]): number {
  const num = `${WS}*([0-9]+)(?![0-9])`;
  const m = new RegExp(
    `^([\\s\\S])${num}${num}${num}${WS}*(?:([^\\t\\n\\v\\f\\r \\xa0]{1,4})${WS}*(?:([0-9]+)${WS}*)?)?$`,
  ).exec(tok);
  if (m === null) return EINVAL;
  const wrap = (d: string) => BigInt(d) % U64;
  const toInt = (d: string) => Number(BigInt.asIntN(32, wrap(d)));
  const [cmd, memcgId, nid, seq] = [m[1], toInt(m[2]), toInt(m[3]), wrap(m[4])];
  let swappiness = -1;
  if (m[5] !== undefined) {
    if (m[5] === 'max') swappiness = 201;
    else {
      const v = refKstrtoull(m[5], 0xffffffffn);
      if (typeof v === 'number') return v;
      swappiness = Number(v);
    }
  }
  const opt = m[6] === undefined ? U64 - 1n : wrap(m[6]);
  // run_cmd
  if (nid < 0 || nid >= env.nodeHasMemory.length || !env.nodeHasMemory[nid]) return EINVAL;
  if (!env.memcgIds.includes(memcgId)) return EINVAL;
  if (swappiness < 0) swappiness = env.defaultSwappiness;
  else if (swappiness > 201) return EINVAL;
  const { maxSeq, minSeq } = env.seqs(memcgId, nid);
  if (cmd === '+') {
    if (seq > BigInt(maxSeq)) return EINVAL;
    calls.push(`age ${memcgId} ${nid} ${swappiness} ${opt !== 0n}`);
    return stubAgingSucceeds(swappiness) ? 0 : EEXIST;
  }
  if (cmd === '-') {
    if ((seq + 2n) % U64 > BigInt(maxSeq)) return EINVAL;
    const types = swappiness === 0 ? [1] : swappiness > 200 ? [0] : [0, 1];
    if (seq < BigInt(Math.min(...types.map((t) => minSeq[t])))) return 0;
    if (opt === 0n) return 0;
    // The stub evicts nothing, so run_eviction returns after one evict_folios.
    // MAX_LRU_BATCH = BITS_PER_LONG * 64.
    calls.push(`evict ${memcgId} ${nid} ${swappiness} ${opt < 4096n ? opt : 4096n}`);
    return 0;
  }
  return EINVAL;
}

/** A sysfs store: cut to PAGE_SIZE, 0 when empty, else `store` of the C string. */
function refSysfs(data: Uint8Array, store: (s: string) => number | null): { ret: number } {
  const len = Math.min(data.length, PAGE);
  if (len === 0) return { ret: 0 };
  const r = store(cstr(data.subarray(0, len)));
  return { ret: r === null ? EINVAL : len };
}

/** enabled_store: the return and the caps requested (before masking), null if unchanged. */
export function refEnabledWrite(data: Uint8Array): { ret: number; caps: number | null } {
  let caps: number | null = null;
  const { ret } = refSysfs(data, (s) => {
    if (s[0] === 'n' || s[0] === 'N') caps = 0;
    else if (s[0] === 'y' || s[0] === 'Y') caps = 0xffffffff;
    else {
      const v = refKstrtoull(s, 0xffffffffn);
      if (typeof v === 'number') return null;
      caps = Number(v);
    }
    return 0;
  });
  return { ret, caps: ret > 0 ? caps : null };
}

/** min_ttl_ms_store then min_ttl_ms_show at HZ=1000: the return and what reads back (null: unchanged). */
export function refMinTtlWrite(data: Uint8Array): { ret: number; readBack: number | null } {
  let readBack: number | null = null;
  const { ret } = refSysfs(data, (s) => {
    const v = refKstrtoull(s, 0xffffffffn);
    if (typeof v === 'number') return null;
    // msecs_to_jiffies: negative as an int → MAX_JIFFY_OFFSET, whose low 32 bits are 0xfffffffe.
    readBack = v >= 2n ** 31n ? 0xfffffffe : Number(v);
    return 0;
  });
  return { ret, readBack: ret > 0 ? readBack : null };
}

/** The stub of try_to_free_mem_cgroup_pages: reclaims max(batch, 32) pages. */
export const stubReclaim = (batch: number) => Math.max(batch, 32);

/** memory_reclaim: the return and the (batch, swappiness) of each try_to_free_mem_cgroup_pages. */
export function refMemoryReclaimWrite(data: Uint8Array): { ret: number; calls: string[] } {
  const calls: string[] = [];
  if (data.length > PAGE) return { ret: E2BIG, calls };
  if (data.length === 0) return { ret: 0, calls };
  const s = cstr(data).replace(new RegExp(`^${WS}+|${WS}+$`, 'g'), '');
  // memparse: simple_strtoull base 0 (wrapping), then one optional K M G T P E.
  const m = /^(?:0[xX](?=[0-9a-fA-F])([0-9a-fA-F]*)|(0[0-7]*)|([1-9][0-9]*))?([kKmMgGtTpPeE]?)/.exec(
    s,
  ) as RegExpExecArray;
  if (m[0] === '') return { ret: EINVAL, calls };
  const digits =
    m[1] !== undefined ? BigInt(`0x${m[1]}`) : m[2] !== undefined ? BigInt(`0o${m[2]}`) : BigInt(m[3] ?? '0');
  const shift = 10n * BigInt(' kmgtpe'.indexOf(m[4].toLowerCase() || ' '));
  const bytes = ((digits % U64) << shift) % U64;
  let swappiness: number | null = null;
  const rest = s.slice(m[0].length).replace(new RegExp(`^${WS}+|${WS}+$`, 'g'), '');
  for (const opt of rest.split(' ')) {
    if (opt === '') continue;
    const d =
      /^swappiness=(-?)(?:0[xX](?=[0-9a-fA-F])([0-9a-fA-F]*)|(0[0-7]*)|([1-9][0-9]*))$|^swappiness=(-)$/.exec(
        opt,
      );
    if (d !== null) {
      // match_int: simple_strtol, then it must fit an int; memory_reclaim wants 0-200.
      const mag = d[5]
        ? 0n
        : d[2] !== undefined
          ? BigInt(`0x${d[2]}`)
          : d[3] !== undefined
            ? BigInt(`0o${d[3]}`)
            : BigInt(d[4]);
      const v = BigInt.asIntN(64, d[1] ? -(mag % U64) : mag % U64);
      if (v < 0n || v > 200n) return { ret: EINVAL, calls };
      swappiness = Number(v);
    } else if (opt === 'swappiness=max') swappiness = 201;
    else return { ret: EINVAL, calls };
  }
  const target = Number(bytes / 4096n);
  for (let done = 0; done < target; ) {
    const batch = Math.floor((target - done) / 4);
    calls.push(`${batch} ${swappiness}`);
    done += stubReclaim(batch);
  }
  return { ret: data.length, calls };
}

/** A host for the page_idle reference: [firstPfn, maxPfn) and the LRU pfns. */
export interface PageIdleEnv {
  firstPfn: number;
  maxPfn: number;
  lru: Set<number>;
}

/** page_idle_bitmap_write: the return and the pfns marked idle. */
export function refPageIdleWrite(
  env: PageIdleEnv,
  pos: number,
  data: Uint8Array,
): { ret: number; marked: number[] } {
  const marked: number[] = [];
  const count = Math.min(data.length, PAGE);
  if (count === 0) return { ret: 0, marked };
  if (pos % 8 || count % 8) return { ret: EINVAL, marked };
  const first = pos * 8;
  if (first >= env.maxPfn) return { ret: ENXIO, marked };
  let end = first + count * 8;
  if (end > env.maxPfn) end = Math.ceil(env.maxPfn / 64) * 64;
  for (let pfn = first; pfn < end; pfn++) {
    const bit = pfn - first;
    if ((data[bit >> 3] >> (bit & 7)) & 1 && pfn >= env.firstPfn && pfn < env.maxPfn && env.lru.has(pfn))
      marked.push(pfn);
  }
  return { ret: (end - first) / 8, marked };
}

/** page_idle_bitmap_read of unmapped pages: the bytes, or an errno. */
export function refPageIdleRead(
  env: PageIdleEnv,
  idle: Set<number>,
  pos: number,
  count: number,
): Uint8Array | number {
  count = Math.min(count, PAGE);
  if (count === 0) return new Uint8Array(0);
  if (pos % 8 || count % 8) return EINVAL;
  const first = pos * 8;
  if (first >= env.maxPfn) return new Uint8Array(0);
  let end = first + count * 8;
  if (end > env.maxPfn) end = Math.ceil(env.maxPfn / 64) * 64;
  const out = new Uint8Array((end - first) / 8);
  for (let pfn = first; pfn < end; pfn++)
    if (env.lru.has(pfn) && idle.has(pfn)) out[(pfn - first) >> 3] |= 1 << ((pfn - first) & 7);
  return out;
}

export { isWs };
