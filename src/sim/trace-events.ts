/**
 * Models no kernel file: the event kinds of `--trace` and their arguments, the trace's schema
 * (docs/trace.md prints it). Most kinds are named after the kernel function or tracepoint they stand
 * for (mm/vmscan.c's mm_vmscan_* tracepoints, try_to_inc_max_seq, walk_mm, evict_folios, handle_mm_fault).
 */

/** Arguments of each event kind. */
export interface TraceArgs {
  phase_start: { name: string };
  phase_end: { name: string; ns: number };
  ept_violation_begin: { gfn: number; write: boolean };
  ept_violation_end: { gfn: number };
  handle_mm_fault: { hva: number; write: boolean; ret: number; ns: number };
  kvm_unmap_hva_range: { start: number; end: number };
  kvm_flush_remote_tlbs: { ipis: number };
  memslots_swap: { as: number; generation: number };
  lock_wait: { lock: string; side: 'read' | 'write'; ns: number };
  try_to_inc_max_seq_begin: { memcg: string; nid: number; seq: number };
  try_to_inc_max_seq_end: { memcg: string; nid: number; seq: number; incremented: boolean };
  walk_mm_begin: { memcg: string; nid: number; seq: number };
  walk_mm_end: {
    memcg: string;
    nid: number;
    seq: number;
    walked: boolean;
    ptes: number;
    young: number;
    clearYoung: number;
  };
  page_idle_mark_begin: { vcpu: number; pages: number };
  page_idle_mark_end: { vcpu: number; pages: number; noPfn: number; stillIdle: number };
  evict_folios_begin: { memcg: string; nid: number; swappiness: number; nrToScan: number };
  evict_folios_end: { memcg: string; nid: number; scanned: number; reclaimed: number };
  mm_vmscan_kswapd_wake: { nid: number };
  mm_vmscan_kswapd_sleep: { nid: number; reclaimed: number };
  mm_vmscan_direct_reclaim_begin: { retry: number };
  mm_vmscan_direct_reclaim_end: { reclaimed: number };
  mm_vmscan_memcg_reclaim_begin: { memcg: string; nrPages: number };
  mm_vmscan_memcg_reclaim_end: { memcg: string; reclaimed: number };
  swap_out: { pfn: number; slot: number };
  swap_in: { pfn: number; slot: number };
  trace_truncated: { limit: number; dropped: number };
}

/** An event kind. */
export type TraceKind = keyof TraceArgs;

/**
 * Every kind with its documentation. Each event is one JSON line
 * `{"time":NS,"thread":NAME,"event":KIND,"args":{...}}`; `time` is simulated nanoseconds.
 * An event with an `ns` argument is emitted when the span ends: it began at `time - ns`.
 */
export const TRACE_EVENTS: { [K in TraceKind]: { doc: string; args: Record<keyof TraceArgs[K], string> } } = {
  phase_start: {
    doc: 'A phase of the selftest starts (the lines it prints: "Populating memory", ...).',
    args: { name: 'the phase, as printed' },
  },
  phase_end: {
    doc: 'The phase ends: every vCPU finished it.',
    args: { name: 'the phase, as printed', ns: 'its duration' },
  },
  ept_violation_begin: {
    doc: 'A vCPU takes an EPT violation: the VM exit (handle_ept_violation).',
    args: { gfn: 'guest frame number', write: 'a write access' },
  },
  ept_violation_end: {
    doc: 'The violation is handled and the vCPU re-enters the guest.',
    args: { gfn: 'guest frame number' },
  },
  handle_mm_fault: {
    doc: 'A host page fault (handle_mm_fault, from KVM or the VMM), emitted when it returns.',
    args: {
      hva: 'host virtual address',
      write: 'a write fault',
      ret: 'VM_FAULT_*: 0 ok, 1 SIGSEGV, 2 OOM',
      ns: 'its duration (a swap-in included)',
    },
  },
  kvm_unmap_hva_range: {
    doc: 'An MMU-notifier invalidation made KVM zap SPTEs (kvm_mmu_notifier_invalidate_range_start).',
    args: { start: 'first host virtual address', end: 'end (exclusive)' },
  },
  kvm_flush_remote_tlbs: {
    doc: "KVM flushes the vCPUs' TLBs (an IPI to each vCPU in guest mode).",
    args: { ipis: 'vCPUs interrupted' },
  },
  memslots_swap: {
    doc: 'A memslot update is published (kvm_swap_active_memslots).',
    args: { as: 'address space', generation: 'the new memslot generation' },
  },
  lock_wait: {
    doc: 'A thread waited for a lock, emitted when it got it (mmu_lock, mmap_lock, the lruvec lock, a PTE-table lock, ...).',
    args: { lock: "the lock's name", side: 'read or write (spinlocks: write)', ns: 'time waited' },
  },
  try_to_inc_max_seq_begin: {
    doc: 'An MGLRU aging pass starts (try_to_inc_max_seq).',
    args: { memcg: 'memcg path', nid: 'NUMA node of the lruvec', seq: 'the max_seq it ages from' },
  },
  try_to_inc_max_seq_end: {
    doc: 'The aging pass ends.',
    args: {
      memcg: 'memcg path',
      nid: 'NUMA node of the lruvec',
      seq: 'the max_seq it aged from',
      incremented: 'it started a new generation (false: another walker had)',
    },
  },
  walk_mm_begin: {
    doc: "The aging pass walks one mm's page tables (walk_mm).",
    args: { memcg: 'memcg path', nid: 'NUMA node of the lruvec', seq: "the walk's max_seq" },
  },
  walk_mm_end: {
    doc: 'The walk of the mm ends.',
    args: {
      memcg: 'memcg path',
      nid: 'NUMA node of the lruvec',
      seq: "the walk's max_seq",
      walked: 'false if skipped (mmap_lock busy, or max_seq moved on)',
      ptes: 'leaf entries looked at (MM_LEAF_TOTAL)',
      young: 'of those, young (MM_LEAF_YOUNG)',
      clearYoung:
        'clear-young calls: {ptep,pmdp}_clear_young_notify (ptep_test_and_clear_young where the walk skips secondary MMUs), and mmu_notifier_clear_young_bitmap (v2-bitmap)',
    },
  },
  page_idle_mark_begin: {
    doc: 'A vCPU thread of the selftest starts marking its memory idle (pageidle_mark_vcpu_memory_idle).',
    args: { vcpu: 'vCPU index', pages: 'guest pages to mark' },
  },
  page_idle_mark_end: {
    doc: 'It finished: every page looked up in pagemap and its bit written to /sys/kernel/mm/page_idle/bitmap.',
    args: {
      vcpu: 'vCPU index',
      pages: 'guest pages',
      noPfn: 'pages pagemap had no frame for',
      stillIdle: 'pages already idle (not written)',
    },
  },
  evict_folios_begin: {
    doc: 'A reclaim batch starts (evict_folios).',
    args: {
      memcg: 'memcg path',
      nid: 'NUMA node of the lruvec',
      swappiness: 'swappiness used',
      nrToScan: 'folios it may scan',
    },
  },
  evict_folios_end: {
    doc: 'The batch ends.',
    args: {
      memcg: 'memcg path',
      nid: 'NUMA node of the lruvec',
      scanned: 'folios scanned',
      reclaimed: 'folios reclaimed (swapped out or dropped)',
    },
  },
  mm_vmscan_kswapd_wake: {
    doc: 'kswapd wakes up to reclaim on its node.',
    args: { nid: 'its NUMA node' },
  },
  mm_vmscan_kswapd_sleep: {
    doc: 'kswapd goes to sleep (also once at start).',
    args: { nid: 'its NUMA node', reclaimed: 'pages it reclaimed since it woke' },
  },
  mm_vmscan_direct_reclaim_begin: {
    doc: "An allocating thread reclaims directly (the page allocator's slow path, try_to_free_pages).",
    args: { retry: 'attempts without progress before this one' },
  },
  mm_vmscan_direct_reclaim_end: {
    doc: 'The direct reclaim ends.',
    args: { reclaimed: 'pages reclaimed' },
  },
  mm_vmscan_memcg_reclaim_begin: {
    doc: 'Reclaim from one memcg starts (try_to_free_mem_cgroup_pages: memory.max, memory.reclaim).',
    args: { memcg: 'memcg path', nrPages: 'pages asked for' },
  },
  mm_vmscan_memcg_reclaim_end: {
    doc: 'The memcg reclaim ends.',
    args: { memcg: 'memcg path', reclaimed: 'pages reclaimed' },
  },
  swap_out: {
    doc: 'A page is written to swap (pageout of an evicted folio), emitted when the write completes.',
    args: { pfn: 'the frame written', slot: 'swap slot' },
  },
  swap_in: {
    doc: 'A page is read back from swap (do_swap_page, shmem_swapin_folio), emitted when the read completes.',
    args: { pfn: 'the new frame', slot: 'swap slot' },
  },
  trace_truncated: {
    doc: "The last event when the trace hit its event limit: the trace holds every event before this one's time and none after.",
    args: { limit: 'the event limit', dropped: 'events left out' },
  },
};

/** The schema as the Markdown table in docs/trace.md. */
export function traceSchemaMarkdown(): string {
  const rows = Object.entries(TRACE_EVENTS).map(([kind, d]) => {
    const args = Object.entries(d.args as Record<string, string>)
      .map(([name, doc]) => `\`${name}\`: ${doc}`)
      .join('; ');
    return `| \`${kind}\` | ${d.doc} | ${args} |`;
  });
  return ['| event | marks | args |', '| --- | --- | --- |', ...rows].join('\n');
}
