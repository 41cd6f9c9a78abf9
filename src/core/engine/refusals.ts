/**
 * What a refused token leaves behind: a count against the client's IP for
 * the guessing throttle (`guessing`; an `anomaly` event at the burst), and
 * an aggregated `invalid-token` report per client, carrier and reason.
 *
 * @module
 * @internal
 */
import type { Clock } from '../clock.js';
import type { Emitter } from '../events.js';
import { GuessingMonitor } from '../guessing.js';
import { InvalidTokenReports, type ReportedReason } from '../invalid-tokens.js';
import { ipBytes } from '../ip.js';
import type { ValidateOptions, ValidateResult } from './api.js';
import type { EngineConfig } from './options.js';

/** A carrier label as `invalid-token` events report it; anything else is `null` (no caller-made string grows the report map). */
const CARRIER_LABEL = /^[a-z][a-z0-9-]{0,15}$/;

/** @internal */
export class Refusals {
  readonly #guessing: GuessingMonitor;
  readonly #reports: InvalidTokenReports;
  readonly #events: Emitter;

  constructor(config: Pick<EngineConfig, 'guessing' | 'reports'>, clock: Clock, events: Emitter) {
    this.#guessing = new GuessingMonitor(config.guessing);
    this.#reports = new InvalidTokenReports(config.reports.windowMs, config.reports.maxClients, () => clock.now(), (e) => events.emit('invalid-token', e));
    this.#events = events;
  }

  /** Counts and reports a refused token; returns `validate()`'s answer. */
  refuse(reason: ReportedReason, options: ValidateOptions | undefined, now: number): ValidateResult {
    const ip = options?.client?.ip;
    if (typeof ip === 'string' && ip !== '' && (reason === 'malformed' || reason === 'unknown')) {
      const count = this.#guessing.fail(ip, now);
      if (count > 0) this.#events.emit('anomaly', { kind: 'invalid-token-burst', ip, count, at: now });
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
    return this.#guessing.blocked(ip, now) ? this.#guessing.retryAfterSeconds(ip, now) : 0;
  }

  /** Reports every open window now (at close): what was counted is not lost with the engine. */
  flush(): void {
    this.#reports.flush();
  }
}
