import { bytes, cBuf } from '../../fs/cstring.ts';
import { EINVAL } from '../../fs/errno.ts';
import { kstrtouint, ULLONG_MAX } from '../../fs/kstrtox.ts';
import { vsscanf } from '../../fs/vsscanf.ts';

/**
 * One command written to /sys/kernel/debug/lru_gen, scanned as mm/vmscan.c lru_gen_seq_write
 * (6.15) scans it: `+ memcg_id node_id max_gen_nr [can_swap [force_scan]]` and
 * `- memcg_id node_id min_gen_nr [swappiness [nr_to_reclaim]]`, swappiness a number or "max".
 */

/** MAX_SWAPPINESS + 1: "swappiness=max", anon only. */
export const SWAPPINESS_ANON_ONLY = 201;

/** run_cmd's arguments as lru_gen_seq_write scanned them. */
export interface LruGenCmd {
  /** The command byte ('+' ages, '-' evicts). */
  cmd: number;
  memcgId: number;
  nid: number;
  /** unsigned long. */
  seq: bigint;
  /** -1 when not given (get_swappiness), 201 for "max". */
  swappiness: number;
  /** unsigned long: force_scan for '+', nr_to_reclaim for '-'; ULONG_MAX when not given. */
  opt: bigint;
}

/** The sscanf format of one command (mm/vmscan.c, 6.15). */
export const LRU_GEN_CMD_FORMAT = '%c %u %u %lu %n %4s %n %lu %n';
const MAX = bytes('max');

/**
 * One command of lru_gen_seq_write, NUL-terminated: sscanf with LRU_GEN_CMD_FORMAT must fill at
 * least four fields and reach the end; the (at most four-byte) swappiness is "max" or a
 * kstrtouint(s, 0) number. Returns run_cmd's arguments or a negative errno.
 */
export function parseLruGenCmd(cur: Uint8Array): LruGenCmd | number {
  const { num, args } = vsscanf(cur, LRU_GEN_CMD_FORMAT);
  if (num < 4) return -EINVAL;
  const end = [args[8], args[6], args[4]].find((e) => e !== undefined) as number;
  if (cur[end]) return -EINVAL;
  let swappiness = -1;
  if (num > 4) {
    const s = cBuf(args[5] as Uint8Array);
    if (s.length === MAX.length + 1 && MAX.every((c, i) => s[i] === c)) swappiness = SWAPPINESS_ANON_ONLY;
    else {
      swappiness = kstrtouint(s, 0);
      if (swappiness < 0) return swappiness;
    }
  }
  return {
    cmd: (args[0] as Uint8Array)[0],
    // unsigned int to int: ids and nodes at or past 2^31 are negative, so refused.
    memcgId: Number(BigInt.asIntN(32, args[1] as bigint)),
    nid: Number(BigInt.asIntN(32, args[2] as bigint)),
    seq: args[3] as bigint,
    swappiness,
    opt: num > 5 ? (args[7] as bigint) : ULLONG_MAX,
  };
}
