import { formatAccessTracking, runAccessTracking } from 'mmulab';

const r = runAccessTracking({ vcpus: 2, vcpuBytes: 64 << 20, aging: 'write-lock' });
console.log(formatAccessTracking(r), r.counters.mmuLock);
