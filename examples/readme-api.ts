import { runAccessTracking } from 'mmulab';

const r = runAccessTracking({ vcpus: 2, vcpuBytes: 64 << 20, aging: 'write-lock' }, 'x86-tdp', null, {
  onLine: (line) => console.log(line), // each stdout line as the simulated test prints it
});
console.log(r.counters.mmuLock.writeWaitNs); // counters are typed (AccessTrackingCounters)
