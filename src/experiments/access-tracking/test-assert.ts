/**
 * TEST_ASSERT / TEST_FAIL of the KVM selftests (tools/testing/selftests/kvm/lib/assert.c,
 * include/test_util.h): a failed assertion writes a block to stderr and the process exits 254.
 */

/** Exit status of a failed TEST_ASSERT (assert.c: exit(254)). */
export const TEST_ASSERT_EXIT = 254;

/** Where an assertion sits in the selftest's source: file, line and the stringified expression. */
export interface AssertSite {
  file: string;
  line: number;
  expr: string;
}

/** The test file's name as __FILE__ expands in the selftests' build. */
const TEST_FILE = 'access_tracking_perf_test.c';

/**
 * The assertions mmulab can fail, at their lines in mainline access_tracking_perf_test.c (Linux
 * 6.16, the MGLRU version with `-w`). TEST_FAIL is TEST_ASSERT(false, ...).
 */
export const ASSERT_SITES = {
  /** too_many_idle_pages(). */
  tooManyIdlePages: { file: TEST_FILE, line: 164, expr: 'idle_pages_warn_only' },
  /** pageidle_mark_vcpu_memory_idle(): fewer than 1% of pages without a pfn. */
  noPfn: { file: TEST_FILE, line: 216, expr: 'no_pfn < pages / 100' },
  /** find_generation(): no generation with 90% of the pages and not warn-only. */
  findGeneration90: { file: TEST_FILE, line: 248, expr: 'false' },
  /** find_generation(): no generation with half of the pages. */
  findGeneration50: { file: TEST_FILE, line: 261, expr: 'gen >= 0' },
  /** run_test(): the initial aging pass saw every test page. */
  allPagesAccounted: { file: TEST_FILE, line: 438, expr: 'lru_gen_sum_memcg_stats(&stats) >= test_pages' },
} as const satisfies Record<string, AssertSite>;

/** A failed TEST_ASSERT / TEST_FAIL: the test stops with this message. */
export class TestFailure extends Error {
  /** gettid() of the thread that failed; null: the main thread (tid == pid). */
  tid: number | null = null;
  constructor(
    message: string,
    readonly site: AssertSite | null = null,
  ) {
    super(message);
  }
}

/** A failed assertion as the selftest reports it: where, in which thread, and the message. */
export interface TestAssertion {
  site: AssertSite | null;
  /** getpid() and gettid() of the simulated selftest (deterministic, from the model's mm). */
  pid: number;
  tid: number;
  errno: number;
  message: string;
}

/**
 * test_assert()'s report, as written to stderr. The stack dump (addr2line of the test binary)
 * has no counterpart in the model and is left out, as in a build without glibc's backtrace().
 */
export function formatTestAssertion(a: TestAssertion): string {
  const where = a.site === null ? '  (unknown site)' : `  ${a.site.file}:${a.site.line}: ${a.site.expr}`;
  return [
    '==== Test Assertion Failure ====',
    where,
    `  pid=${a.pid} tid=${a.tid} errno=${a.errno} - ${a.errno === 0 ? 'Success' : `errno ${a.errno}`}`,
    `  ${a.message}`,
    '',
  ].join('\n');
}
