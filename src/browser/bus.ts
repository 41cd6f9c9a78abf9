/**
 * Messages between the tabs of one origin: a `BroadcastChannel`, or, where
 * there is none, `storage` events of a localStorage key that is written and
 * removed at once. Only `BroadcastChannel` keeps a message in memory: a
 * message marked secret (one carrying a token) is never sent any other way.
 *
 * @module
 */

/** @internal the link to the other tabs */
export interface Bus {
  /** Sends to every other tab of the origin; a `secret` message only over `BroadcastChannel`. */
  post(message: object, secret: boolean): void;
  /** Whether secret messages travel (there is a `BroadcastChannel`). */
  readonly secrets: boolean;
  close(): void;
}

/** @internal opens the bus `name`; `receive` gets every message of the other tabs */
export function openBus(name: string, receive: (message: Record<string, unknown>) => void): Bus {
  const accept = (data: unknown): void => {
    if (data !== null && typeof data === 'object') receive(data as Record<string, unknown>);
  };
  if (typeof BroadcastChannel === 'function') {
    const channel = new BroadcastChannel(name);
    channel.onmessage = (e) => accept(e.data);
    return { secrets: true, post: (m) => channel.postMessage(m), close: () => channel.close() };
  }
  const key = `${name}:message`;
  const storage = localStorageOrNull();
  const onStorage = (e: StorageEvent): void => {
    if (e.key !== key || e.newValue === null) return;
    try {
      accept((JSON.parse(e.newValue) as { m?: unknown }).m);
    } catch {
      // Not ours, or damaged: ignored.
    }
  };
  if (storage !== null) addEventListener('storage', onStorage);
  return {
    secrets: false,
    post(m, secret) {
      if (secret || storage === null) return;
      try {
        // A nonce, so that the same message twice is still a change; removed at once, so that nothing stays.
        storage.setItem(key, JSON.stringify({ m, n: Math.random() }));
        storage.removeItem(key);
      } catch {
        // Storage full or denied: the other tabs learn at their next request.
      }
    },
    close: () => removeEventListener('storage', onStorage),
  };
}

function localStorageOrNull(): Storage | null {
  try {
    return typeof localStorage === 'object' ? localStorage : null;
  } catch {
    // A sandboxed frame throws on access.
    return null;
  }
}
