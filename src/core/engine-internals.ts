/**
 * What modules built on an engine read of it without widening its public
 * type: token mode's refresh rotation follows tombstones the engine never
 * hands out, and its access tokens watch the engine's store for
 * invalidations, on the engine's clock and within its `storeTimeout`;
 * `latchkey/migrate` creates each handed-over session under a token derived
 * from the old session, so that concurrent hand-overs converge. An
 * engine registers its internals once, at construction; nothing else can.
 *
 * @module
 * @internal
 */
import type { StoreBrake, StoreBrakeOptions } from './brake.js';
import type { Clock } from './clock.js';
import type { GivenCreateInput } from './engine/create.js';
import type { SessionEvents } from './events.js';
import type { Session, SessionRecord } from './model.js';
import type { Store } from './store.js';
import type { Telemetry } from './telemetry.js';

/** @internal */
export interface EngineInternals {
  /** The store object the engine was given (the key of every in-process invalidation). */
  readonly store: Store;
  /** The engine's kind: token mode honours only families whose live record is of it. */
  readonly kind: string;
  readonly clock: Clock;
  /** The engine's `storeTimeout` as `storeTimeoutMs()` computed it (0 for in-process stores). */
  readonly storeTimeoutMs: number;
  /**
   * Any record by handle, tombstones included, through the engine's own
   * store mapping: bounded by `storeTimeout`, failures as
   * `StoreUnavailableError`, refused with `ClosedError` once the engine is
   * closed.
   */
  readRecord(handle: string): Promise<SessionRecord | null>;
  /**
   * A brake on repeated failures per client that counts on the engine's
   * store's shared counters (`store.counters`: one budget for every
   * instance, brakes announced to all) or in this process, stopped when the
   * engine closes: token mode's refresh-token throttle.
   */
  brake(options: StoreBrakeOptions): StoreBrake;
  /** Reports an error latchkey cannot answer itself to the engine's `onError`. */
  reportError(error: unknown): void;
  /** The engine's OpenTelemetry instruments (its `telemetry` option), or `null`: token mode traces its operations with them. */
  readonly telemetry: Telemetry | null;
  /** Emits an event on the engine (the HTTP layer's DBSC events), to the application's listeners. */
  emit<K extends keyof SessionEvents>(name: K, event: SessionEvents[K]): void;
  /**
   * `latchkey/migrate`'s hand-over: creates a session under a token the
   * server derived (`given`), or resolves `null` when its handle is taken
   * (another request handed the same old session over first). Sign-in
   * checks, events and failures as `create()`.
   */
  createAs(input: GivenCreateInput, given: { readonly handle: string; readonly secret: string }): Promise<{ token: string; session: Session } | null>;
}

const registry = new WeakMap<object, EngineInternals>();

/** @internal called once by `createSessions()` for the engine it returns */
export function registerEngine(engine: object, internals: EngineInternals): void {
  registry.set(engine, internals);
}

/** @internal the internals of an engine made by `createSessions()`, or `undefined` for anything else */
export function engineInternals(engine: unknown): EngineInternals | undefined {
  return engine !== null && typeof engine === 'object' ? registry.get(engine) : undefined;
}
