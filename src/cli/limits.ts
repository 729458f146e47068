/** Models no kernel file: CLI: how much simulated state this machine can hold. */
import { totalmem } from 'node:os';

/**
 * Bytes of simulator state the CLI allows a run: three quarters of this machine's RAM. It only
 * decides whether a run is refused up front; it never enters a result.
 */
export function simulatorMemoryLimit(): number {
  return Math.floor(totalmem() * 0.75);
}
