// A real listening session service (`latchkey serve` in this process, on the
// memory store, in a temporary data folder) with an API key and a
// latchkey/client of it: the fixture of the client tests and of the remote
// backend's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createClient, LatchkeyApiError, type ClientOptions, type LatchkeyClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';

export interface ServiceFixture {
  readonly service: Service;
  readonly base: string;
  /** A key named `label`. */
  readonly apiKey: string;
  /** The client of the service with that key. */
  readonly latchkey: LatchkeyClient;
  close(): Promise<void>;
}

/** Starts the service with `flags` beside the test defaults, and a client with `client` options. */
export async function startService(label: string, options: { flags?: Record<string, string>; client?: Partial<ClientOptions> } = {}): Promise<ServiceFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), `latchkey-${label}-`));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent', ...options.flags }, env: {} });
  const service = await createService(config);
  const base = await service.listen();
  const apiKey = (await service.ctx.apiKeys.create(label)).key;
  return {
    service,
    base,
    apiKey,
    latchkey: createClient({ baseUrl: base, apiKey, ...options.client }),
    async close() {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves the error a promise rejects with, which must be the client's; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<LatchkeyApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(LatchkeyApiError);
    return err as LatchkeyApiError;
  }
  throw new Error('expected the call to reject');
}
