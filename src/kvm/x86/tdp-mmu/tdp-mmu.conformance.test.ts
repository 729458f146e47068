import { describeMmuConformance } from '../../../testing/mmu-conformance.ts';
import { runOnVm } from '../../../testing/vm-fixture.ts';

describeMmuConformance('TDP MMU', (opts, body) => runOnVm({ ...opts, tdpMmu: true }, body), {
  prefetched: 0,
  zapAllFastTlbFlushes: 0,
});
