import { describe, expect, expectTypeOf, it } from 'vitest';
import { BrowserSessionError } from '../../src/browser/errors.js';
import { LatchkeyApiError } from '../../src/client/errors.js';
import { ClosedError, ConfigError, LatchkeyError, LatchkeyTypeError, SessionLimitError, StoreUnavailableError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import type { AnyLatchkeyError } from '../../src/errors.js';
import { HttpError, retryAfter, storeUnavailable, throttled } from '../../src/http/errors.js';
import { memoryStore } from '../../src/stores/memory.js';

describe('the error family', () => {
  it('makes a wrong argument a TypeError that is also a LatchkeyError with the code ERR_INVALID_ARGUMENT', async () => {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const err = await sessions.revokeUser(42 as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toBeInstanceOf(LatchkeyError);
    expect(err).toMatchObject({ name: 'LatchkeyTypeError', code: 'ERR_INVALID_ARGUMENT' });
    // Subclasses keep the ordinary test: a type error is no ConfigError, a ConfigError no type error.
    expect(new LatchkeyTypeError('x')).not.toBeInstanceOf(ConfigError);
    expect(new ConfigError('x')).not.toBeInstanceOf(LatchkeyTypeError);
    expect(new TypeError('x')).not.toBeInstanceOf(LatchkeyError);
  });

  it('puts the HTTP layer’s and the service client’s errors in it, each with one code', () => {
    const all: AnyLatchkeyError[] = [
      new ConfigError('c'),
      new LatchkeyTypeError('t'),
      new StoreUnavailableError('s'),
      new SessionLimitError(3),
      new ClosedError('the engine'),
      new HttpError(403, 'csrf-cross-site'),
      new LatchkeyApiError({ status: 401, reason: 'session-invalid', detail: 'revoked', message: 'm', operation: 'POST /v1/sessions/rotate' }),
      new BrowserSessionError('refresh-failed', 'the refresh endpoint answered 503', 503),
    ];
    expect(all.every((e) => e instanceof LatchkeyError)).toBe(true);
    expect(all.map((e) => e.code)).toEqual(['ERR_CONFIG', 'ERR_INVALID_ARGUMENT', 'ERR_STORE_UNAVAILABLE', 'ERR_SESSION_LIMIT', 'ERR_CLOSED', 'ERR_HTTP', 'ERR_SERVICE', 'ERR_BROWSER_SESSION']);
    const narrow = (e: AnyLatchkeyError): string => {
      switch (e.code) {
        case 'ERR_SESSION_LIMIT':
          expectTypeOf(e).toEqualTypeOf<SessionLimitError>();
          return String(e.limit);
        case 'ERR_HTTP':
          expectTypeOf(e).toEqualTypeOf<HttpError>();
          return e.reason;
        case 'ERR_SERVICE':
          expectTypeOf(e).toEqualTypeOf<LatchkeyApiError>();
          return `${e.reason}/${e.detail}`;
        case 'ERR_BROWSER_SESSION':
          expectTypeOf(e).toEqualTypeOf<BrowserSessionError>();
          return `${e.reason} ${e.status}`;
        default:
          return e.code;
      }
    };
    expect(all.map(narrow)).toEqual(['ERR_CONFIG', 'ERR_INVALID_ARGUMENT', 'ERR_STORE_UNAVAILABLE', '3', 'ERR_CLOSED', 'csrf-cross-site', 'session-invalid/revoked', 'refresh-failed 503']);
  });

  it('has one Retry-After policy: 5 s for a store outage, the rest of the window (at least 1 s) for a throttle', () => {
    expect(storeUnavailable(new Error('down'))).toMatchObject({ status: 503, reason: 'store-unavailable', headers: { 'retry-after': '5' } });
    expect(throttled(41.2)).toMatchObject({ status: 429, reason: 'throttled', headers: { 'retry-after': '42' } });
    expect(throttled(0)).toMatchObject({ headers: { 'retry-after': '1' } });
    expect([retryAfter(0.01), retryAfter(60), retryAfter(Number.NaN)]).toEqual(['1', '60', '1']);
  });
});
