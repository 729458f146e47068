import { describeMmuConformance } from '../../../testing/mmu-conformance.ts';
import { runOnVm } from '../../../testing/vm-fixture.ts';

describeMmuConformance('shadow MMU', (opts, body) => runOnVm({ ...opts, tdpMmu: false }, body), {
  prefetched: 7,
  zapAllFastTlbFlushes: 2,
  // Lockless rmap aging (6.15's kvm_rmap_age_gfn_range) is being built separately.
  locklessAging: false,
  locklessRefusal: /^lockless shadow-MMU aging \(kvm_rmap_age_gfn_range of 6\.15\) is not modelled yet$/,
});
