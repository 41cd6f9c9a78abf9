/**
 * The short-lived bound cookie of a DBSC session: proof, on every request,
 * that the browser holding the session cookie refreshed recently with the
 * registered key.
 *
 * Its value is `base64url(version || expiry || nonce || mac)`: version 1
 * (1 byte), the expiry in seconds since epoch (4 bytes), 8 random bytes
 * (so that the value changes at every refresh, even twice in a second),
 * and 16 bytes of HMAC-SHA256 under the deployment's secret over a label,
 * the DBSC session identifier, the key thumbprint and the bytes before it.
 * Checking it needs the identifier and the thumbprint, which the session
 * record already read for the request holds: no store read, one HMAC. The
 * identifier, not the handle: it is random, one per binding, and outlives
 * rotation, so a rotated session keeps its bound cookie. Anything that does
 * not verify is refused (fail closed); the value never says which part
 * failed to anyone but the caller.
 *
 * A browser sends one value on every request until its next refresh
 * (minutes): values already verified are remembered, with the session and
 * key they verified for, in a bounded map, so that the HMAC runs once per
 * value rather than once per request. Only values whose MAC verified are
 * remembered, and a remembered value is still checked against the
 * request's session, key and the clock.
 *
 * @module
 * @internal
 */
import { serialize } from 'cookie';
import { fromBase64url, hmacSha256, randomFill, timingSafeEqual, toBase64url, toUtf8 } from '#primitives';
import type { Clock } from '../../core/clock.js';
import type { CookieConfig } from '../cookies.js';
import type { BoundCookieResult } from './types.js';

const VERSION = 1;
const LABEL = 'latchkey dbsc-bound v1\0';
const HEAD = 1 + 4 + 8;
const MAC_BYTES = 16;
const VALUE_SHAPE = /^[A-Za-z0-9_-]{39}$/;
const MISSING: BoundCookieResult = Object.freeze({ ok: false, reason: 'missing' });
const MALFORMED: BoundCookieResult = Object.freeze({ ok: false, reason: 'malformed' });
const FORGED: BoundCookieResult = Object.freeze({ ok: false, reason: 'forged' });
const EXPIRED: BoundCookieResult = Object.freeze({ ok: false, reason: 'expired' });
/** Verified values remembered per generation (two generations are kept): a few MiB at most, about one per active bound session. */
const GENERATION = 10_000;

interface Verified {
  readonly id: string;
  readonly jkt: string;
  readonly expiresAt: number;
}

/** A minted bound cookie. */
export interface MintedBoundCookie {
  readonly value: string;
  /** ms since epoch (whole seconds). */
  readonly expiresAt: number;
  /** The `Set-Cookie` value. */
  readonly setCookie: string;
}

/** @internal mints and checks bound cookies under one configuration */
export class BoundCookies {
  readonly #keys: readonly Uint8Array[];
  readonly #cookie: CookieConfig;
  readonly #ttlSeconds: number;
  readonly #clock: Clock;
  // Two generations: when the newer fills up it becomes the older, and the older is dropped whole. No
  // per-entry eviction (deleting a Map's oldest entries one by one leaves holes its iteration walks).
  #recent = new Map<string, Verified>();
  #older = new Map<string, Verified>();
  /** The `attributes` of the session instructions' credential: exactly those of every `Set-Cookie`. */
  readonly attributes: string;

  constructor(keys: readonly Uint8Array[], cookie: CookieConfig, ttlMs: number, clock: Clock) {
    this.#keys = keys;
    this.#cookie = cookie;
    this.#ttlSeconds = Math.ceil(ttlMs / 1000);
    this.#clock = clock;
    // Browsers match a bound cookie on Domain, Path, Secure, HttpOnly and SameSite: say the same here as in Set-Cookie.
    const parts = cookie.domain === undefined ? [] : [`Domain=${cookie.domain}`];
    parts.push(`Path=${cookie.path}`, 'Secure', 'HttpOnly', `SameSite=${cookie.sameSite === 'lax' ? 'Lax' : cookie.sameSite === 'strict' ? 'Strict' : 'None'}`);
    this.attributes = parts.join('; ');
  }

  /** The cookie's name. */
  get name(): string {
    return this.#cookie.name;
  }

  /** A new bound cookie for the DBSC session `id` bound to the key `jkt`. */
  mint(id: string, jkt: string): MintedBoundCookie {
    const expires = Math.floor(this.#clock.now() / 1000) + this.#ttlSeconds;
    const bytes = new Uint8Array(HEAD + MAC_BYTES);
    bytes[0] = VERSION;
    new DataView(bytes.buffer).setUint32(1, expires);
    randomFill(bytes.subarray(5, HEAD));
    bytes.set(this.#mac(this.#keys[0] as Uint8Array, id, jkt, bytes.subarray(0, HEAD)), HEAD);
    const value = toBase64url(bytes);
    return { value, expiresAt: expires * 1000, setCookie: this.#serialize(value, this.#ttlSeconds) };
  }

  /** Checks a bound cookie's value for the DBSC session `id` bound to `jkt`. Never throws. */
  check(value: string | null | undefined, id: string, jkt: string): BoundCookieResult {
    if (value === null || value === undefined || value === '') return MISSING;
    const known = this.#recent.get(value) ?? this.#older.get(value);
    if (known !== undefined) {
      if (known.id !== id || known.jkt !== jkt) return FORGED;
      return known.expiresAt > this.#clock.now() ? { ok: true, expiresAt: known.expiresAt } : EXPIRED;
    }
    if (!VALUE_SHAPE.test(value)) return MALFORMED;
    const bytes = fromBase64url(value);
    if (bytes.length !== HEAD + MAC_BYTES || bytes[0] !== VERSION) return MALFORMED;
    const head = bytes.subarray(0, HEAD);
    const presented = bytes.subarray(HEAD);
    let genuine = false;
    for (const key of this.#keys) genuine = timingSafeEqual(this.#mac(key, id, jkt, head), presented) || genuine;
    if (!genuine) return FORGED;
    const expiresAt = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1) * 1000;
    if (expiresAt <= this.#clock.now()) return EXPIRED;
    if (this.#recent.size >= GENERATION) {
      this.#older = this.#recent;
      this.#recent = new Map();
    }
    this.#recent.set(value, { id, jkt, expiresAt });
    return { ok: true, expiresAt };
  }

  /** The `Set-Cookie` value that makes the browser drop the bound cookie. */
  clear(): string {
    return this.#serialize('', 0, new Date(0));
  }

  #serialize(value: string, maxAge: number, expires?: Date): string {
    const c = this.#cookie;
    return serialize(c.name, value, { path: c.path, domain: c.domain, secure: true, httpOnly: true, sameSite: c.sameSite, maxAge, expires, encode: String });
  }

  #mac(key: Uint8Array, id: string, jkt: string, head: Uint8Array): Uint8Array {
    return hmacSha256(key, [toUtf8(`${LABEL}${id}\0${jkt}\0`), head]).subarray(0, MAC_BYTES);
  }
}
