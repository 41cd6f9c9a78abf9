/**
 * The guessing defence's settings: how many invalid tokens from one client
 * within a window make a burst (counted by a brake, see ./brake.ts).
 *
 * @module
 */

/** Normalised guessing-defence settings. */
export interface GuessingPolicy {
  /** Invalid tokens from one client within `windowMs` that make a burst (0 = off). */
  readonly threshold: number;
  readonly windowMs: number;
  readonly maxClients: number;
}
