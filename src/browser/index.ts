/// <reference lib="dom" preserve="true" />
/**
 * `latchkey/browser`: the browser half of a latchkey session, for
 * single-page applications. An ES module with no dependencies, shared by
 * every tab of the origin:
 *
 * - a `fetch()` wrapper and an interceptor for any HTTP client, which attach
 *   the access token kept in memory (token mode, bearer carrier), rely on the
 *   HttpOnly `__Host-` cookies (cookie carrier, cookie sessions) and send the
 *   CSRF header cookie sessions expect;
 * - refresh on expiry or on a 401 `invalid_token`, once across all tabs (Web
 *   Locks, or claims over `BroadcastChannel`), requests held meanwhile and a
 *   refused one replayed once; theft detection or revocation signs every
 *   tab out;
 * - the server's idle and absolute deadlines (`Latchkey-Deadlines`), with
 *   `expiring` and `expired` events, activity in one tab extending the
 *   session for all;
 * - sign-out and sign-out-everywhere reaching every tab at once, with one
 *   request to the server;
 * - an observable state (`subscribe`, `getState`) and typed events;
 * - DPoP proofs (`dpopProofs()`, a request hook) signed with a
 *   non-extractable key kept in IndexedDB, server nonces handled.
 *
 * See docs/browser.md for the design, the protocol and the threat model.
 * Its types refer to the DOM's (the reference above brings them to a
 * project compiled without the DOM library).
 *
 * @module
 */
export { createBrowserSession } from './session.js';
export type { BrowserSession } from './session.js';
export { parseDeadlines } from './deadlines.js';
export { dpopProofs } from './dpop.js';
export type { DpopProofs, DpopProofsOptions } from './dpop.js';
export type { Deadlines } from './deadlines.js';
export { BrowserSessionError } from './errors.js';
export type { BrowserSessionErrorReason } from './errors.js';
// The family's base class and the options error, for instanceof checks in the page.
export { ConfigError, LatchkeyError } from '../core/errors.js';
export type {
  BrowserSessionEvents,
  BrowserSessionOptions,
  ExpiredEvent,
  ExpiringEvent,
  HeaderSource,
  HookRequest,
  InterceptedRequest,
  Interceptor,
  RequestHook,
  SessionMode,
  SessionState,
  SignedOutEvent,
  SignOutReason,
} from './types.js';
