/** Acquisition and wait counters of one lock, per side. */
export class LockStats {
  readAcquired = 0;
  readContended = 0;
  readWaitNs = 0;
  writeAcquired = 0;
  writeContended = 0;
  writeWaitNs = 0;

  /** Plain-object copy for reports. */
  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
