/**
 * How the PostgreSQL store talks to `pg`: the pool it makes (or checks, when
 * given one), its own type parsers whatever the application set globally,
 * and what a driver error means for the caller.
 *
 * @module
 * @internal
 */
import pg from 'pg';
import type { Pool, PoolConfig, QueryConfig } from 'pg';
import { ConfigError, InvalidDataError, LatchkeyError, StoreUnavailableError } from '../../core/errors.js';
import { permissionRefused } from '../permission.js';

/** A pg query config; `query_timeout` is read by pg's client although its types omit it. */
export type Query = QueryConfig & { query_timeout?: number };

const INT8_OID = 20;
const JSONB_OID = 3802;

/**
 * Our own type parsers, whatever the application set globally: bigint
 * columns as numbers (every value is a safe integer of milliseconds or a
 * counter) and JSONB through JSON.parse.
 */
export const TYPES: NonNullable<QueryConfig['types']> = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : oid === JSONB_OID ? JSON.parse : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export const noop = (): void => {};

/** Where the pool comes from: given, or made from a connection string and pg settings. */
export interface PoolSource {
  connectionString?: string | undefined;
  pool?: Pool | undefined;
  poolConfig?: PoolConfig | undefined;
}

/** The pool given in `options` (checked), or a new one with `settings` over the user's `poolConfig`. */
export function ownPool(options: PoolSource, settings: PoolConfig): Pool {
  if (options.pool !== undefined) {
    const p = options.pool as unknown;
    if (p === null || typeof p !== 'object' || typeof (p as Pool).query !== 'function' || typeof (p as Pool).connect !== 'function') {
      throw new ConfigError('pool must be a pg Pool (new pg.Pool(...))');
    }
    if (options.connectionString !== undefined || options.poolConfig !== undefined) {
      throw new ConfigError('give either pool, or connectionString and poolConfig, not both');
    }
    return options.pool;
  }
  if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
    throw new ConfigError('connectionString must be a non-empty string such as postgres://user@host:5432/db');
  }
  if (options.poolConfig !== undefined && (options.poolConfig === null || typeof options.poolConfig !== 'object')) {
    throw new ConfigError('poolConfig must be an object of pg Pool options');
  }
  return new pg.Pool({
    application_name: 'latchkey',
    keepAlive: true,
    ...options.poolConfig,
    ...(options.connectionString !== undefined ? { connectionString: options.connectionString } : {}),
    ...settings,
  });
}

/**
 * Driver errors as latchkey errors: data PostgreSQL cannot hold is the caller's, a permission the runtime refused
 * is a `ConfigError` naming it; anything else means the store failed.
 */
export function translate(err: unknown): unknown {
  if (err instanceof LatchkeyError) return err;
  // Deno without --allow-net or --allow-env: no outage, a command line to change.
  const refused = permissionRefused(err, 'PostgreSQL');
  if (refused !== null) return refused;
  const code = codeOf(err);
  // 22P05: a \u0000 in JSONB; 22021: a NUL byte in a text column. Neither is storable in PostgreSQL.
  if (code === '22P05' || code === '22021') {
    return new InvalidDataError('session data or fields contain a \\u0000 character, which PostgreSQL cannot store');
  }
  return new StoreUnavailableError(`the PostgreSQL store is unavailable: ${whyFailed(err, code)}${code === undefined ? '' : ` (SQLSTATE ${code})`}; see cause`, {
    cause: err,
  });
}

/** Which kind of failure a driver error is, for the message (the error itself stays the cause). */
function whyFailed(err: unknown, code: string | undefined): string {
  const text = `${(err as { message?: unknown } | null)?.message ?? ''} ${(err as { code?: unknown } | null)?.code ?? ''}`;
  // 57014: statement_timeout; the client-side query_timeout and the connection timeout say "timeout".
  if (code === '57014' || /timeout|timed out/i.test(text)) return 'PostgreSQL did not answer in time';
  // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or starting; 53300: no connection slot.
  if (code?.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return 'the connection to PostgreSQL is lost';
  if (/Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|not queryable|Client has encountered a connection error/i.test(text)) {
    return 'the connection to PostgreSQL is lost';
  }
  return 'PostgreSQL failed';
}

/** The SQLSTATE of a driver error, if it has one. */
export function codeOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
