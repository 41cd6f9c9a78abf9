/**
 * The service's readiness probe of its store (`/readyz`).
 *
 * @module
 */
import type { Store } from '../core/store.js';

/** Whether the store answers a ping within `ms` (readiness checks); never throws, leaves no timer behind. */
export async function storeReady(store: Store, ms = 1000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([store.ping().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

