/**
 * Typed session events. Events carry handles, never secrets or tokens, so
 * they are safe to log and to forward to a SIEM.
 *
 * @module
 */
import type { BoundProofFailedEvent, DeviceBoundEvent } from './bound-events.js';
import type { ClientRecord } from './model.js';

/** Every event the engine emits, by name. */
export interface SessionEvents {
  created: { readonly handle: string; readonly userId: string | null; readonly client: ClientRecord | null; readonly at: number };
  rotated: {
    readonly from: string;
    readonly to: string;
    readonly userId: string | null;
    /** `'manual'` for `rotate()`, `'renewal'` for automatic renewal, `'refresh'` for a refresh-token rotation of `latchkey/tokens`. */
    readonly cause: 'manual' | 'renewal' | 'refresh';
    readonly at: number;
  };
  revoked: {
    readonly handle: string;
    readonly userId: string | null;
    readonly cause: 'revoke' | 'user' | 'binding' | 'limit';
    readonly at: number;
  };
  expired: { readonly handle: string; readonly userId: string | null; readonly kind: 'idle' | 'absolute'; readonly at: number };
  'new-device': { readonly handle: string; readonly userId: string; readonly client: ClientRecord; readonly at: number };
  anomaly: AnomalyEvent;
  'invalid-token': InvalidTokenEvent;
  /** A browser session registered a device key (DBSC): from now on it needs its short-lived bound cookie. */
  'device-bound': DeviceBoundEvent;
}

/**
 * Tokens `validate()` refused that no other event reports: malformed, never
 * issued (or another engine's), or revoked. Aggregated per client IP,
 * carrier and reason: one event per window (`guessing.window`, one minute by
 * default), sent when the window ends, with how many there were. Never holds
 * the token, nor any part of it.
 */
export interface InvalidTokenEvent {
  /** The client (IP) that presented them, as the caller reported it, or `null` when it did not. */
  readonly ip: string | null;
  /**
   * Where the tokens travelled, as the caller said: `'cookie'`, `'bearer'`,
   * `'url'` or `'form'` from latchkey's HTTP layer, `'api'` from the
   * session service's `/v1` API; `null` when the caller did not say.
   */
  readonly carrier: string | null;
  /** `'malformed'` (not a latchkey token at all), `'unknown'` (never issued, or a wrong secret) or `'revoked'`. */
  readonly reason: 'malformed' | 'unknown' | 'revoked';
  /** How many such tokens in this window (at least 1). */
  readonly count: number;
  /** ms since epoch of the first one. */
  readonly since: number;
  /** ms since epoch of the last one. */
  readonly at: number;
}

/** Something that may be an attack. */
export type AnomalyEvent =
  | {
      readonly kind: 'binding-mismatch';
      readonly handle: string;
      readonly userId: string | null;
      /** Which bound attribute differed. */
      readonly attribute: 'user-agent' | 'ip';
      readonly action: 'log' | 'reauth' | 'revoke';
      readonly ip: string | null;
      readonly at: number;
    }
  | {
      readonly kind: 'invalid-token-burst';
      /** The client that sent them (IP), as the caller reported it. */
      readonly ip: string;
      /** Invalid tokens from this client in the current window. */
      readonly count: number;
      readonly at: number;
    }
  | BoundProofFailedEvent;

/** A listener for one event. */
export type Listener<K extends keyof SessionEvents> = (event: SessionEvents[K]) => void;

/** @internal a small synchronous emitter; a throwing listener never breaks the engine */
export class Emitter {
  #listeners: { [K in keyof SessionEvents]?: Array<Listener<K>> } = {};
  #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof SessionEvents>(name: K, fn: Listener<K>): () => void {
    const list = (this.#listeners[name] ??= []) as Array<Listener<K>>;
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i !== -1) list.splice(i, 1);
    };
  }

  has(name: keyof SessionEvents): boolean {
    return (this.#listeners[name]?.length ?? 0) > 0;
  }

  emit<K extends keyof SessionEvents>(name: K, event: SessionEvents[K]): void {
    const list = this.#listeners[name] as Array<Listener<K>> | undefined;
    if (list === undefined) return;
    for (const fn of list.slice()) {
      try {
        fn(event);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}
