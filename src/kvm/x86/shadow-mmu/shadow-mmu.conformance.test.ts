import { describeMmuConformance } from '../../../testing/mmu-conformance.ts';
import { runOnVm } from '../../../testing/vm-fixture.ts';

describeMmuConformance('shadow MMU', (opts, body) => runOnVm({ ...opts, tdpMmu: false }, body), {
  prefetched: 7,
  zapAllFastTlbFlushes: 2,
});
