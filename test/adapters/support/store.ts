import type { Store } from '../../../src/core/store.js';

/** A real store wrapped to count calls, to simulate an outage, and to add network-like latency. */
export interface TestStore extends Store {
  reads: number;
  writes: number;
  down: boolean;
  /** When above 0, every call first waits a random 0 to `latencyMs` ms, so that concurrent requests interleave as over a network. */
  latencyMs: number;
}

const READS = new Set(['get', 'listUser', 'ping', 'kv.get', 'kv.list']);

export function testStore(inner: Store): TestStore {
  const wrapper = {
    capabilities: inner.capabilities,
    reads: 0,
    writes: 0,
    down: false,
    latencyMs: 0,
  } as TestStore;
  const call = async (name: string, run: () => unknown): Promise<unknown> => {
    if (name !== 'close' && name !== 'sweep') {
      if (wrapper.down) throw new Error('connect ECONNREFUSED (simulated outage)');
      if (READS.has(name)) wrapper.reads++;
      else wrapper.writes++;
      if (wrapper.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * wrapper.latencyMs));
    }
    return run();
  };
  for (const name of ['create', 'get', 'touch', 'patch', 'replace', 'revoke', 'revokeUser', 'delete', 'listUser', 'sweep', 'ping', 'close'] as const) {
    (wrapper as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => call(name, () => (inner[name] as (...a: unknown[]) => unknown).apply(inner, args));
  }
  const kv: Record<string, unknown> = {};
  for (const name of ['get', 'set', 'take', 'delete', 'list'] as const) {
    kv[name] = (...args: unknown[]) => call(`kv.${name}`, () => (inner.kv[name] as (...a: unknown[]) => unknown).apply(inner.kv, args));
  }
  (wrapper as unknown as { kv: unknown }).kv = kv;
  return wrapper;
}
