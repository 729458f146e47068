/** Models no kernel file: Perfetto export: how each trace event kind becomes slices, counters and flows. */
// How each trace event kind (../trace-events.ts) is drawn in the Perfetto export. Not a kernel file.
import type { TraceKind } from '../trace-events.ts';

/** A slice drawn from a begin event to an end event on the emitting thread. */
export interface SpanKind {
  key: string;
  name: string;
  cat: string;
}

/** Begin kinds and the slice they open; the slice closes at the kind in `SPAN_ENDS`. */
export const SPAN_BEGINS: Partial<Record<TraceKind, SpanKind>> = {
  ept_violation_begin: { key: 'ept', name: 'EPT violation', cat: 'kvm' },
  try_to_inc_max_seq_begin: { key: 'aging', name: 'try_to_inc_max_seq', cat: 'mglru' },
  walk_mm_begin: { key: 'walk', name: 'walk_mm', cat: 'mglru' },
  page_idle_mark_begin: { key: 'mark', name: 'page_idle mark', cat: 'page_idle' },
  evict_folios_begin: { key: 'evict', name: 'evict_folios', cat: 'mglru' },
  mm_vmscan_kswapd_wake: { key: 'kswapd', name: 'kswapd awake', cat: 'vmscan' },
  mm_vmscan_direct_reclaim_begin: { key: 'direct', name: 'direct reclaim', cat: 'vmscan' },
  mm_vmscan_memcg_reclaim_begin: { key: 'memcg', name: 'memcg reclaim', cat: 'vmscan' },
};

/** End kinds and the key of the slice they close. */
export const SPAN_ENDS: Partial<Record<TraceKind, string>> = {
  ept_violation_end: 'ept',
  try_to_inc_max_seq_end: 'aging',
  walk_mm_end: 'walk',
  page_idle_mark_end: 'mark',
  evict_folios_end: 'evict',
  mm_vmscan_kswapd_sleep: 'kswapd',
  mm_vmscan_direct_reclaim_end: 'direct',
  mm_vmscan_memcg_reclaim_end: 'memcg',
};

/** Kinds drawn as instants on the emitting thread. */
export const INSTANTS: Partial<Record<TraceKind, string>> = {
  kvm_unmap_hva_range: 'mm',
  kvm_flush_remote_tlbs: 'kvm',
  memslots_swap: 'kvm',
  swap_out: 'swap',
  swap_in: 'swap',
};

/** Process of the selftest's threads (main, vCPUs) and of the kernel threads (kswapd). */
export const PID_TEST = 1;
export const PID_KTHREADS = 2;
/** First tid of the derived tracks (the KVM clear_young track of each aging thread). */
export const TID_NOTIFIER = 300_000;

/**
 * Process and thread id of a simulated thread by its name: main is tid 1, vcpuN 2 + N, kswapdN
 * (pid 2) 100000 + N; any other name the next free id from 200000 in order of appearance.
 */
export function threadIds(name: string, others: Map<string, number>): { pid: number; tid: number } {
  if (name === 'main') return { pid: PID_TEST, tid: 1 };
  let m = /^vcpu(\d+)$/.exec(name);
  if (m !== null) return { pid: PID_TEST, tid: 2 + Number(m[1]) };
  m = /^kswapd(\d+)$/.exec(name);
  if (m !== null) return { pid: PID_KTHREADS, tid: 100_000 + Number(m[1]) };
  let tid = others.get(name);
  if (tid === undefined) {
    tid = 200_000 + others.size;
    others.set(name, tid);
  }
  return { pid: PID_TEST, tid };
}
