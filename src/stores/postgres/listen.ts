/**
 * The PostgreSQL store's invalidations, received: one connection of the pool
 * held on `LISTEN` for the tables' channel, replaced when it is lost (with a
 * backoff of up to 2 s), each loss and recovery reported to the listener so
 * that the engine's cache is bypassed while nothing is heard. (They are sent
 * by the store's own statements, through `pg_notify`, see queries.ts.)
 *
 * @module
 * @internal
 */
import type { Pool, PoolClient } from 'pg';
import type { InvalidationListener } from '../../core/store.js';
import { decodeInvalidation } from '../invalidation.js';
import { noop, type Query } from './connection.js';
import { ident } from './schema.js';

/** What a subscription needs of its store. */
export interface ListenOptions {
  readonly pool: Pool;
  readonly channel: string;
  /** Bound of the LISTEN statement, in ms. */
  readonly queryMs: number;
  /** Connection errors that belong to no call. */
  readonly onError: (error: unknown) => void;
}

/** A subscription under way: `connected` settles after the first attempt (live or not); `stop` ends it. */
export interface Listening {
  readonly connected: Promise<void>;
  stop(): Promise<void>;
}

/** Starts listening at once; see the module comment. */
export function listen(o: ListenOptions, listener: InvalidationListener): Listening {
  let stopped = false;
  let live = false;
  let current: PoolClient | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let failures = 0;
  const report = (up: boolean): void => {
    if (stopped || up === live) return;
    live = up;
    listener.status(up);
  };
  const onNotification = (msg: { channel: string; payload?: string | undefined }): void => {
    if (!stopped && msg.channel === o.channel) listener.invalidate(decodeInvalidation(msg.payload ?? ''));
  };
  // The connection is gone: drop it (never back into the pool) and try again later.
  const lost = (c: PoolClient, err?: unknown): void => {
    if (current !== c) return;
    current = null;
    report(false);
    c.off('notification', onNotification);
    c.release(err instanceof Error ? err : new Error('the LISTEN connection was lost'));
    schedule();
  };
  const schedule = (): void => {
    if (stopped || retryTimer !== null) return;
    failures++;
    retryTimer = setTimeout(
      () => {
        retryTimer = null;
        connect().catch(noop);
      },
      Math.min(100 * 2 ** (failures - 1), 2000),
    );
    retryTimer.unref();
  };
  const connect = async (): Promise<void> => {
    let c: PoolClient;
    try {
      c = await o.pool.connect();
    } catch (err) {
      o.onError(err);
      schedule();
      return;
    }
    if (stopped) {
      c.release();
      return;
    }
    current = c;
    c.on('notification', onNotification);
    c.on('error', (err: unknown) => {
      o.onError(err);
      lost(c, err);
    });
    c.on('end', () => lost(c));
    try {
      await c.query({ text: `LISTEN ${ident(o.channel)}`, query_timeout: o.queryMs } as Query);
    } catch (err) {
      o.onError(err);
      lost(c, err);
      return;
    }
    if (current === c) {
      failures = 0;
      report(true);
    }
  };
  return {
    connected: connect(),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      const c = current;
      current = null;
      if (c !== null) {
        c.off('notification', onNotification);
        // A listening connection must not go back to the pool: close it.
        c.release(true);
      }
    },
  };
}
