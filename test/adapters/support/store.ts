import type { Store } from '../../../src/core/store.js';

/** A real store wrapped to count calls, to simulate an outage, and to add network-like latency. */
export interface TestStore extends Store {
  reads: number;
  writes: number;
  down: boolean;
  /** When above 0, every call first waits a random 0 to `latencyMs` ms, so that concurrent requests interleave as over a network. */
  latencyMs: number;
}

const READS = new Set(['get', 'listUser', 'ping']);

export function testStore(inner: Store): TestStore {
  const wrapper = {
    capabilities: inner.capabilities,
    reads: 0,
    writes: 0,
    down: false,
    latencyMs: 0,
  } as TestStore;
  for (const name of ['create', 'get', 'touch', 'patch', 'replace', 'revoke', 'revokeUser', 'delete', 'listUser', 'sweep', 'ping', 'close'] as const) {
    (wrapper as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      if (name !== 'close' && name !== 'sweep') {
        if (wrapper.down) throw new Error('connect ECONNREFUSED (simulated outage)');
        if (READS.has(name)) wrapper.reads++;
        else wrapper.writes++;
        if (wrapper.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * wrapper.latencyMs));
      }
      return (inner[name] as (...a: unknown[]) => unknown).apply(inner, args);
    };
  }
  return wrapper;
}
