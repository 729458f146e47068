/**
 * Models no kernel file: per-lock acquisition and wait counters for reports (in the spirit of
 * CONFIG_LOCK_STAT).
 */
/** Acquisition and wait counters of one lock, per side. */
export class LockStats {
  readAcquired = 0;
  readContended = 0;
  readWaitNs = 0;
  readMaxWaitNs = 0;
  writeAcquired = 0;
  writeContended = 0;
  writeWaitNs = 0;
  writeMaxWaitNs = 0;
  /** Failed cmpxchg's of trylock loops (each one more access to the lock word). */
  cmpxchgFailed = 0;

  /** A contended read acquisition that waited `ns`. */
  readWait(ns: number): void {
    this.readContended++;
    this.readWaitNs += ns;
    if (ns > this.readMaxWaitNs) this.readMaxWaitNs = ns;
  }

  /** A contended write (or exclusive) acquisition that waited `ns`. */
  writeWait(ns: number): void {
    this.writeContended++;
    this.writeWaitNs += ns;
    if (ns > this.writeMaxWaitNs) this.writeMaxWaitNs = ns;
  }

  /** Plain-object copy for reports. */
  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
