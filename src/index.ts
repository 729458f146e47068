/** Models no kernel file: mmulab's library API, explicit named exports. */

export { main } from './cli/main.ts';
export {
  type AccessTrackingCounters,
  formatCounters,
  type LruGenCounters,
} from './experiments/access-tracking/counters.ts';
export { formatAccessTracking, formatAccessTrackingHeader } from './experiments/access-tracking/format.ts';
export {
  type AccessTrackingInput,
  type AccessTrackingOptions,
  OptionsError,
  parseAccessTrackingOptions,
} from './experiments/access-tracking/options.ts';
export {
  type AccessTrackingHooks,
  type AccessTrackingProgress,
  type AccessTrackingResult,
  type PhaseResult,
  runAccessTracking,
} from './experiments/access-tracking/run.ts';
export { formatSeconds } from './experiments/access-tracking/selftest-output.ts';
export {
  formatTestAssertion,
  TEST_ASSERT_EXIT,
  type TestAssertion,
} from './experiments/access-tracking/test-assert.ts';
export {
  type CalibrateOptions,
  type CalibrationStep,
  calibrate,
  calibrationError,
  FREE_PARAMETERS,
  type FreeParameter,
  fittedProfileFile,
} from './experiments/calibrate.ts';
export { type LostWriteSummary, runLostWrite } from './experiments/lost-write/drivers.ts';
export { formatLostWrite } from './experiments/lost-write/format.ts';
export {
  type LostWriteOptions,
  LostWriteOptionsError,
  resolveLostWriteOptions,
} from './experiments/lost-write/options.ts';
export type { LostWrite, TrailEvent } from './experiments/lost-write/oracle.ts';
export { MICRO_MACHINE_PROFILES } from './experiments/micro/reference-profiles.ts';
export {
  formatMicroValidation,
  MICRO_TOLERANCE,
  type MicroJob,
  type MicroValidateOptions,
  type MicroValidation,
  type MicroValidationRow,
  runMicroValidation,
} from './experiments/micro-validate.ts';
export { defaultJobs, runParallel } from './experiments/parallel.ts';
export {
  loadReference,
  type PublishedRow,
  type Reference,
  SEED003_PROFILE,
  SEED003_ROWS,
} from './experiments/published.ts';
export { runSysfs, type SysfsOptions, type SysfsResult } from './experiments/sysfs.ts';
export {
  formatTable,
  runTable,
  runTableRow,
  type TableOptions,
  type TableRatio,
  type TableRow,
  type TableRowJob,
  tableCsv,
} from './experiments/table.ts';
export {
  formatValidate,
  runValidate,
  type ValidateOptions,
  type Validation,
  type ValidationRow,
  type ValidationShape,
} from './experiments/validate.ts';
export { errnoName } from './fs/errno.ts';
export { type SimFile, Vfs } from './fs/vfs.ts';
export { pteTableMustWait, pteTableOf, waitForPteTable } from './host/gup.ts';
export { Host, type HostOptions, OomKill } from './host/host.ts';
export { FolioList, LRU_LINK_BYTES, LruLinks } from './host/lru-list.ts';
export { MemoryBandwidth } from './host/mem-bandwidth.ts';
export {
  MmuNotifierDispatch,
  type MmuNotifierOps,
  type MmuNotifierRange,
  mmNotifiersAgeFast,
  mmuNotifierRegister,
} from './host/mmu-notifier.ts';
export { PteLocks } from './host/pte-locks.ts';
export { SwapDevice } from './host/swap.ts';
export type { BackingKind } from './host/vma.ts';
export { BACKING_KINDS } from './host/vma.ts';
export { AD_POLICIES, type AdPolicy, type AdPolicyName, adPolicy } from './kvm/ad-policy.ts';
export { type AgingLock, Kvm, type KvmOptions } from './kvm/kvm.ts';
export { KvmStats } from './kvm/kvm-stats.ts';
export { kvmArchVcpuIoctlRun } from './kvm/vcpu-run.ts';
export type { MmuFault, MmuRoot, X86Mmu } from './kvm/x86/kvm-mmu.ts';
export { LRU_GEN_DEBUGFS, LRU_GEN_FULL_DEBUGFS, LruGenDebugfs } from './reclaim/mglru/debugfs.ts';
export { Kswapd, KswapdStats } from './reclaim/mglru/kswapd.ts';
export { LruGen } from './reclaim/mglru/lru-gen.ts';
export { EvictionStats, LruGenStats } from './reclaim/mglru/lru-gen-stats.ts';
export { PAGE_IDLE_BITMAP, PageIdle } from './reclaim/page-idle/page-idle.ts';
export { CacheLine, type LineCosts } from './sim/cache-line.ts';
export { CoreClock } from './sim/core-clock.ts';
export { CpuPlacement, NUMA_IMBALANCE_MIN } from './sim/cpu-placement.ts';
export { Engine, type EngineOptions } from './sim/engine.ts';
export { type PerfettoOptions, PerfettoWriter } from './sim/perfetto/perfetto-writer.ts';
export {
  COST_TERMS,
  type CostProfile,
  type CostTerm,
  DEFAULT_PROFILE,
  listProfiles,
  loadProfile,
  ProfileError,
  parseProfile,
  withCosts,
  zeroProfile,
} from './sim/profile.ts';
export { RandomStream } from './sim/random.ts';
export { call, SimThread, type ThreadBody, type Waitable } from './sim/thread.ts';
export { profileCpus, Topology } from './sim/topology.ts';
export { type TraceEvent, Tracer, type TraceSink } from './sim/trace.ts';
export { RcuDomain } from './sync/rcu.ts';
export { QRwLock } from './sync/rwlock.ts';
export { SpinLock } from './sync/spinlock.ts';
export {
  DEFAULT_KERNEL,
  KERNEL_VARIANTS,
  type KernelVariant,
  kernelVariant,
} from './variants/kernel-variant.ts';
export { type VariantDifference, variantDifferences } from './variants/variant-diff.ts';
export { type BootedHost, bootHost, type HostSpec } from './vm/host-builder.ts';
export {
  type KvmVm,
  type VmSpec,
  vmCreate,
  vmUserspaceMemRegionAdd,
  vmVcpuAdd,
} from './vm/vm-builder.ts';
