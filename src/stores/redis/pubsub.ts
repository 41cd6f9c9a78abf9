/**
 * The Redis store's invalidations: a PUBLISH on `<prefix>invalidate` after
 * every write that changes what a validation would answer, and subscriptions
 * on connections of their own that resubscribe after every reconnect and
 * report each loss. On a cluster a plain PUBLISH reaches every node.
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import type { Invalidation, InvalidationListener } from '../../core/store.js';
import { decodeInvalidation, encodeInvalidation, encodeMessage } from '../invalidation.js';

/** The store's channel, and where failures that belong to no call go. */
export interface PubSub {
  /** Announces changed records to every subscribed process; a failure is reported, never thrown (the write is done). */
  announce(handles: readonly string[]): Promise<void>;
  /** Sends any message (`Store.announce`); a failure is reported, never thrown. */
  send(message: Invalidation): Promise<void>;
  /** Starts a subscription; resolves the function that stops it. */
  subscribe(listener: InvalidationListener): () => Promise<void>;
  /** Drops every subscription (the store closes). */
  stopAll(): void;
}

/** Publishing and subscribing through `client` on `channel`. */
export function pubSub(client: Redis | Cluster, channel: string, onError: (error: unknown) => void): PubSub {
  const subscribers = new Set<Redis | Cluster>();
  return {
    async announce(handles) {
      if (handles.length === 0) return;
      try {
        await client.publish(channel, encodeInvalidation(handles));
      } catch (err) {
        onError(err);
      }
    },

    async send(message) {
      try {
        await client.publish(channel, encodeMessage(message));
      } catch (err) {
        onError(err);
      }
    },

    subscribe(listener) {
      // A connection of its own: a subscribed connection can run nothing else. We resubscribe ourselves,
      // so that "live" is reported only once the SUBSCRIBE is confirmed.
      const sub: Redis | Cluster = client.isCluster
        ? (client as Cluster).duplicate(undefined, { lazyConnect: true })
        : (client as Redis).duplicate({ autoResubscribe: false, lazyConnect: true, enableOfflineQueue: false });
      subscribers.add(sub);
      let stopped = false;
      let live = false;
      const report = (up: boolean): void => {
        if (stopped || up === live) return;
        live = up;
        listener.status(up);
      };
      sub.on('error', (err: unknown) => onError(err));
      sub.on('ready', () => {
        sub.subscribe(channel).then(
          () => report(true),
          (err: unknown) => {
            onError(err);
            // Without a confirmed subscription the cache stays bypassed; a reconnect tries again.
            sub.disconnect(true);
          },
        );
      });
      sub.on('close', () => report(false));
      sub.on('end', () => report(false));
      sub.on('message', (ch: string, text: string) => {
        if (stopped || ch !== channel) return;
        listener.invalidate(decodeInvalidation(text));
      });
      sub.connect().catch(() => {
        // reported through 'error'; ioredis keeps retrying
      });
      return async () => {
        if (stopped) return;
        stopped = true;
        subscribers.delete(sub);
        sub.disconnect();
      };
    },

    stopAll() {
      for (const sub of subscribers) sub.disconnect();
      subscribers.clear();
    },
  };
}
