// A real listening session service and an engine in this process, for the
// tests of the remote backend (test/http/remote-backend*.test.ts): the same
// flows run through both, on a real listening server of an adapter each.
import type { LatchkeyClient } from '../../../src/client/index.js';
import { createSessions, type Sessions } from '../../../src/core/sessions.js';
import type { HttpSessionsOptions } from '../../../src/http/http-sessions.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { start, type AdapterName } from '../../adapters/support/apps.js';
import { startService } from '../../helpers/service.js';

export interface RemoteContext {
  readonly apiKey: string;
  /** The client of the service, with a 2 s timeout. */
  readonly latchkey: LatchkeyClient;
  /** The engine the remote backend is compared with: the service's timeouts. */
  readonly engine: Sessions;
  close(): Promise<void>;
}

/** Starts the service on the memory store, with an API key named `label`, and the engine beside it. */
export async function startRemote(label: string): Promise<RemoteContext> {
  const service = await startService(label, { client: { timeout: '2s' } });
  const engine = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h', sweepInterval: false });
  return {
    apiKey: service.apiKey,
    latchkey: service.latchkey,
    engine,
    async close() {
      await engine.close();
      await service.close();
    },
  };
}

let ips = 0;
/** A client IP of its own per test (the service throttles invalid tokens per IP). */
export const freshIp = (): string => `198.51.100.${++ips}`;
let users = 0;
export const freshUser = (): string => `remote-${++users}-${Math.random().toString(36).slice(2, 8)}`;

/** A Set-Cookie line with its token masked, and Max-Age/Expires kept: what must match between backends. */
export const shape = (line: string): string => line.replace(/=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43};/, '=<token>;');

/** The application on `adapter` twice, through the service (`remote`) and through the engine (`local`), for `run`. */
export async function withServers<T>(ctx: RemoteContext, adapter: AdapterName, extra: Partial<HttpSessionsOptions>, run: (remote: string, local: string) => Promise<T>): Promise<T> {
  const base = { trustProxy: ['127.0.0.1'], onError: () => {}, ...extra };
  const servers = await Promise.all([start(adapter, { ...base, remote: ctx.latchkey }), start(adapter, { ...base, sessions: ctx.engine })]);
  try {
    return await run(servers[0].url, servers[1].url);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}
