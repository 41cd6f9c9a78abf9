/**
 * What the parts of `latchkey serve` share: the resolved configuration, the
 * store, the engines, token mode, API keys, the security-event feed and the
 * metrics. `createService()` builds one context and hands it to the JSON API,
 * the admin dashboard and the demo site.
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Sessions, SessionsOptions } from '../core/sessions.js';
import type { Store } from '../core/store.js';
import type { Tokens } from '../tokens/tokens.js';
import type { KeySet } from '../tokens/keys.js';
import type { ApiKeys } from '../core/api-keys.js';
import type { ServiceConfig } from './config.js';
import type { SecurityFeed } from './feed.js';
import type { Metrics } from './metrics.js';
import type { History } from './history.js';

/** The admin credential of the dashboard. */
export interface AdminCredential {
  /** The admin user name (`admin`). */
  readonly username: string;
  /** Whether `username`/`password` are the admin's, in constant time. */
  verify(username: unknown, password: unknown): boolean;
}

/** Everything the service's parts share. */
export interface ServiceContext {
  readonly config: ServiceConfig;
  /**
   * The store the engines below share, for the few reads and writes the
   * service makes itself (API keys, route checks): every call goes through
   * the engine's store-failure mapping (`StoreUnavailableError`, answered
   * 503) and `storeTimeout`. Never close it: the service does.
   */
  readonly store: Store;
  /**
   * The main engine (cookie-length timeouts): the `/v1/sessions` API and the
   * demo site's sessions, so that the dashboard sees and revokes them.
   */
  readonly sessions: Sessions;
  /** Token mode (`/v1/tokens`), on an engine of its own with refresh-token timeouts over the same store. */
  readonly tokens: Tokens;
  /** The signing keys of token mode (JWKS). */
  readonly keys: KeySet;
  /** API keys of `/v1` callers, kept hashed in the store. */
  readonly apiKeys: ApiKeys;
  /** Recent security events of every engine, for the dashboard. */
  readonly feed: SecurityFeed;
  /** Counters and histograms served at `/metrics`. */
  readonly metrics: Metrics;
  /** The dashboard charts' series, kept in the store for every instance. */
  readonly history: History;
  /** The dashboard's admin credential. */
  readonly admin: AdminCredential;
  readonly log: FastifyBaseLogger;
  /**
   * A further engine over the shared store (the dashboard's own sessions, for
   * one), of a kind of its own: not `'session'` nor `'refresh'`, the kinds
   * of `/v1` (a `ConfigError` says so). Its events reach the feed and the
   * metrics, labelled with its kind; it is closed with the service, before
   * the service closes the store (an engine never closes a store it is
   * handed).
   */
  engine(options: Omit<SessionsOptions, 'store' | 'kind'> & { kind: string }): Sessions;
  /** When the service started, ms since epoch. */
  readonly startedAt: number;
}

/**
 * The kinds of the service's records. Each engine honours only tokens of its
 * own kind, so that no token of one (a refresh token, a demo or dashboard
 * cookie) is valid at another or touched by it, and user ids need no
 * reserved prefix: `alice` of the demo is the demo's, `alice` of `/v1` the
 * application's.
 *
 * @example
 * ```ts
 * const mine = await ctx.sessions.list('alice', { kinds: [...SERVICE_KINDS.api] });
 * ```
 */
export const SERVICE_KINDS = {
  /** What `/v1` answers for: its sessions and its token families. */
  api: ['session', 'refresh'],
  sessions: 'session',
  tokens: 'refresh',
  admin: 'admin',
  demo: 'demo',
  /** The demo's single-page section (`/demo/app`): token families of the demo's users. */
  demoApp: 'demo-app',
} as const;
