/**
 * What a refused token leaves behind: a count against the client's IP for
 * the guessing throttle (`guessing`; an `anomaly` event at the burst), and
 * an aggregated `invalid-token` report per client, carrier and reason.
 *
 * The count is kept in the store's shared counters when it has them (Redis,
 * PostgreSQL: one budget for every instance), else in this process; it is
 * made on the failure path only (see ../brake.ts).
 *
 * @module
 * @internal
 */
import type { Clock } from '../clock.js';
import type { Emitter } from '../events.js';
import { storeBrake, type StoreBrake } from '../brake.js';
import { InvalidTokenReports, type ReportedReason } from '../invalid-tokens.js';
import { ipBytes } from '../ip.js';
import type { ValidateOptions, ValidateResult } from './api.js';
import type { EngineConfig } from './options.js';

/** A carrier label as `invalid-token` events report it; anything else is `null` (no caller-made string grows the report map). */
const CARRIER_LABEL = /^[a-z][a-z0-9-]{0,15}$/;

/** @internal */
export class Refusals {
  readonly #guessing: StoreBrake | null;
  readonly #reports: InvalidTokenReports;
  readonly #events: Emitter;
  readonly #onError: (error: unknown) => void;

  constructor(config: Pick<EngineConfig, 'guessing' | 'reports' | 'store' | 'storeTimeoutMs' | 'onError' | 'kind'>, clock: Clock, events: Emitter) {
    const g = config.guessing;
    // With shared counters, a burst is announced to every instance and logged in the store; heard (and the log read) from the first check or refusal.
    this.#guessing =
      g.threshold === 0
        ? null
        : storeBrake(
            config.store,
            config.storeTimeoutMs,
            // Per kind, as each engine's own counts are on a store that is not shared.
            { name: `guessing:${config.kind}`, limit: g.threshold, windowMs: g.windowMs, maxClients: g.maxClients },
            config.onError,
          );
    this.#onError = config.onError;
    this.#reports = new InvalidTokenReports(config.reports.windowMs, config.reports.maxClients, () => clock.now(), (e) => events.emit('invalid-token', e));
    this.#events = events;
  }

  /** Counts and reports a refused token; resolves `validate()`'s answer. */
  async refuse(reason: ReportedReason, options: ValidateOptions | undefined, now: number): Promise<ValidateResult> {
    const ip = options?.client?.ip;
    if (this.#guessing !== null && typeof ip === 'string' && ip !== '' && (reason === 'malformed' || reason === 'unknown')) {
      try {
        const v = await this.#guessing.failed(ip, now);
        if (v.reached) this.#events.emit('anomaly', { kind: 'invalid-token-burst', ip, count: v.count, at: now });
      } catch (err) {
        // The token is refused either way; a count the store could not keep is reported, not the caller's failure.
        this.#onError(err);
      }
    }
    // Counted only while someone listens: otherwise a refusal costs nothing more.
    if (this.#events.has('invalid-token')) {
      const carrier = options?.carrier;
      this.#reports.record(
        typeof ip === 'string' && ipBytes(ip) !== null ? ip : null,
        typeof carrier === 'string' && CARRIER_LABEL.test(carrier) ? carrier : null,
        reason,
        now,
      );
    }
    return { ok: false, reason };
  }

  /** Seconds the client `ip` must wait after a burst of invalid tokens, or 0. */
  throttled(ip: string, now: number): number {
    return this.#guessing === null ? 0 : this.#guessing.retryAfter(ip, now);
  }

  /** Reports every open window now (at close): what was counted is not lost with the engine. */
  flush(): void {
    this.#reports.flush();
  }

  /** Stops hearing other instances' brakes (at close). */
  close(): Promise<void> {
    return this.#guessing?.close() ?? Promise.resolve();
  }
}
