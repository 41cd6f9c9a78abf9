/**
 * How every mode calls a store: a failure surfaces as
 * `StoreUnavailableError` (adapters answer 503), and a call can be bounded
 * in time, for stores that talk over a network.
 *
 * @module
 * @internal
 */
import { durationOption, type Duration } from './duration.js';
import { LatchkeyError, StoreUnavailableError } from './errors.js';
import type { Store } from './store.js';

/** A store's failure as latchkey reports it: our own errors as they are, anything else wrapped (the cause kept). */
export function storeError(err: unknown): LatchkeyError {
  return err instanceof LatchkeyError ? err : new StoreUnavailableError('the session store failed; see cause', { cause: err });
}

/** `p`, or a `StoreUnavailableError` after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`the session store did not answer within ${ms} ms`)), ms);
  });
  // The losing promise must never become an unhandled rejection.
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The `storeTimeout` option in ms: 0 (no timer) for in-process stores, whose
 * calls cannot hang on a network.
 */
export function storeTimeoutMs(store: Store, value: Duration | undefined): number {
  return store.capabilities.inProcess ? 0 : durationOption('storeTimeout', value ?? '2s', { min: 1 });
}

/** One store call, bounded by `timeoutMs` (0: not bounded), its failure a `StoreUnavailableError`. */
export async function callStore<T>(op: () => Promise<T>, timeoutMs = 0): Promise<T> {
  try {
    return timeoutMs === 0 ? await op() : await withTimeout(op(), timeoutMs);
  } catch (err) {
    throw storeError(err);
  }
}
