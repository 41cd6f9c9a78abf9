/**
 * One engine's working parts, built once from its normalised options and
 * shared by every operation (`validate.ts`, `rotation.ts`, `manage.ts`, …):
 * the store gate, the optional cache, events, refusal counters, the
 * recorded clients and the sweeper; and how they stop.
 *
 * @module
 * @internal
 */
import { storeBrake, type StoreBrake, type StoreBrakeOptions } from '../brake.js';
import type { SessionCache } from '../cache.js';
import type { Clock } from '../clock.js';
import { Emitter } from '../events.js';
import type { Store } from '../store.js';
import { tracedStore } from '../telemetry.js';
import type { EngineConfig } from './options.js';
import { ClientRecords } from './records.js';
import { Refusals } from './refusals.js';
import { StoreGate } from './store-gate.js';
import { watchedCache } from './subscription.js';
import { Sweeper } from './sweeper.js';

/** @internal */
export interface Engine {
  readonly config: EngineConfig;
  /** What the engine calls: the store, or with `telemetry` a traced view of it (`config.store` is the store itself). */
  readonly store: Store;
  readonly clock: Clock;
  readonly events: Emitter;
  readonly gate: StoreGate;
  /** The cache of validated sessions, or `null` without the `cache` option. */
  readonly cache: SessionCache | null;
  readonly refusals: Refusals;
  readonly clients: ClientRecords;
  readonly sweeper: Sweeper;
  /**
   * A brake on the engine's store (its shared counters, else this
   * process's), stopped with the engine: token mode's refresh throttle.
   */
  brake(options: StoreBrakeOptions): StoreBrake;
  /** Stops everything the engine started. Never closes the store: the engine did not open it. */
  close(): Promise<void>;
}

/** Builds an engine's parts. Arms no timer and makes no store call: both wait for first use. */
export function openEngine(config: EngineConfig): Engine {
  const { store, clock, onError } = config;
  const events = new Emitter(onError);
  const watched = watchedCache(store, config.cache, onError);
  const cache = watched?.cache ?? null;
  // Traced calls go through a view; caches and invalidations keep knowing the store itself.
  const calls = config.telemetry === null ? store : tracedStore(store, config.telemetry);
  const gate = new StoreGate(store, config.storeTimeoutMs, cache, calls);
  const sweeper = new Sweeper(gate, calls, clock, onError);
  const sweepMs = config.sweepMs;
  if (sweepMs !== null) gate.onFirstUse(() => sweeper.start(sweepMs));
  const refusals = new Refusals(config, clock, events);
  const brakes = new Set<StoreBrake>();
  let closing: Promise<void> | null = null;

  async function close(): Promise<void> {
    gate.onFirstUse(null);
    // A sweep under way finishes first: it must not fail half-way on a closed engine.
    await sweeper.stop();
    gate.closed = true;
    refusals.flush();
    await refusals.close().catch(onError);
    await Promise.all([...brakes].map((b) => b.close().catch(onError)));
    cache?.clear();
    if (watched !== null) await watched.unwatch().catch(onError);
  }

  return {
    config,
    store: calls,
    clock,
    events,
    gate,
    cache,
    refusals,
    clients: new ClientRecords(),
    sweeper,
    brake(options) {
      const b = storeBrake(store, config.storeTimeoutMs, options, onError);
      brakes.add(b);
      return b;
    },
    close: () => (closing ??= close()),
  };
}
