// Models no kernel file: how much of this machine's memory a simulation may use.
import { totalmem } from 'node:os';

/**
 * Bytes of simulator state the CLI allows a run: three quarters of this machine's RAM. It only
 * decides whether a run is refused up front; it never enters a result.
 */
export function simulatorMemoryLimit(): number {
  return Math.floor(totalmem() * 0.75);
}
