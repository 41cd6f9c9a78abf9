/**
 * `latchkey serve` (the built executable, a child process) killed with
 * SIGKILL in the middle of a write load, on SQLite and on PostgreSQL, then
 * started again on the same store and data folder: every write the service
 * acknowledged before it died is there. Each session whose creation was
 * answered 201 validates, each data key whose patch was answered 200 holds
 * its value, each token family issued with 201 refreshes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/built.js';
import { latchkey, serve, type Serving } from '../cli/process.js';
import { sqliteDrivers } from '../../src/stores/sqlite.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';

beforeAll(() => ensureBuilt(), 180_000);

const ADMIN = 'sigkill-admin-password';

interface Acknowledged {
  /** Sessions created with 201: token and the data keys whose patch was answered 200. */
  sessions: Map<string, { handle: string; data: Record<string, number> }>;
  /** Refresh tokens of families issued with 201. */
  families: string[];
  /** Requests that failed without an answer (the kill). */
  unanswered: number;
}

async function api(base: string, key: string, method: string, path: string, json?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${key}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json !== undefined ? JSON.stringify(json) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/**
 * Writes from `workers` loops until the service stops answering: each loop
 * creates a session, patches the sessions it created, and issues a token
 * family, and records what was acknowledged.
 */
function writeLoad(base: string, key: string, workers: number, ack: Acknowledged): Promise<void> {
  const loop = async (w: number): Promise<void> => {
    const mine: string[] = [];
    for (let n = 0; ; n++) {
      try {
        const op = n % 4;
        if (op === 0 || mine.length === 0) {
          const r = await api(base, key, 'POST', '/v1/sessions', { userId: `writer-${w}`, data: { n } });
          if (r.status === 201) {
            const token = r.body.token as string;
            ack.sessions.set(token, { handle: (r.body.session as { handle: string }).handle, data: {} });
            mine.push(token);
          }
        } else if (op === 3) {
          const r = await api(base, key, 'POST', '/v1/tokens', { userId: `writer-${w}` });
          if (r.status === 201) ack.families.push(r.body.refreshToken as string);
        } else {
          const token = mine[n % mine.length] as string;
          const s = ack.sessions.get(token) as { handle: string; data: Record<string, number> };
          // A new key per patch: whether an unanswered patch landed does not matter to the ones answered.
          const k = `k${n}`;
          const r = await api(base, key, 'PATCH', `/v1/sessions/${s.handle}/data`, { set: { [k]: n } });
          if (r.status === 200) s.data[k] = n;
        }
      } catch {
        ack.unanswered++;
        return;
      }
    }
  };
  return Promise.all(Array.from({ length: workers }, (_, w) => loop(w))).then(() => undefined);
}

function crashScenario(name: string, skip: boolean, storeOf: () => Promise<{ url: string; stop(): Promise<void> }>): void {
  describe.skipIf(skip)(`latchkey serve on ${name}, killed with SIGKILL during a write load`, () => {
    let dir: string;
    let store: { url: string; stop(): Promise<void> };
    let running: Serving | null = null;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'latchkey-sigkill-'));
      store = await storeOf();
    }, 60_000);
    afterAll(async () => {
      await running?.stop();
      await store?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('keeps every session, data change and token family it acknowledged', async () => {
      const url = store.url.startsWith('sqlite:') ? `sqlite:${join(dir, 'latchkey.db')}` : store.url;
      const args = ['--store', url, '--port', '0', '--data-dir', join(dir, 'state'), '--admin-password', ADMIN];
      expect((await latchkey(['migrate', '--store', url], dir)).code).toBe(0);
      const created = await latchkey(['apikeys', 'create', '--name', 'load', '--store', url], dir);
      expect(created.code).toBe(0);
      const key = created.stdout.trimEnd().split('\n').at(-1) as string;

      running = await serve(args, dir);
      const ack: Acknowledged = { sessions: new Map(), families: [], unanswered: 0 };
      const load = writeLoad(running.base, key, 16, ack);
      const started = Date.now();
      while ((ack.sessions.size < 50 || Date.now() - started < 1500) && Date.now() - started < 8000) await new Promise((r) => setTimeout(r, 50));
      expect(await running.kill('SIGKILL')).toBe('SIGKILL');
      await load;
      running = null;
      // Writes were in flight when it died: the kill did land mid-load.
      expect(ack.unanswered).toBeGreaterThan(0);

      running = await serve(args, dir);
      let sessionsValid = 0;
      let keysKept = 0;
      let keysAcknowledged = 0;
      const lost: string[] = [];
      for (const [token, s] of ack.sessions) {
        const r = await api(running.base, key, 'POST', '/v1/sessions/validate', { token });
        const session = r.body.session as { data: Record<string, unknown> } | undefined;
        if (r.body.valid === true) sessionsValid++;
        else lost.push(`session ${s.handle}: ${JSON.stringify(r.body)}`);
        for (const [k, v] of Object.entries(s.data)) {
          keysAcknowledged++;
          if (session?.data[k] === v) keysKept++;
          else lost.push(`session ${s.handle} key ${k}`);
        }
      }
      let familiesLive = 0;
      for (const refreshToken of ack.families) {
        const r = await api(running.base, key, 'POST', '/v1/tokens/refresh', { refreshToken });
        if (r.status === 200) familiesLive++;
        else lost.push(`family: ${r.status} ${JSON.stringify(r.body)}`);
      }
      console.log(
        `${name}: SIGKILL after ${Date.now() - started} ms of load, ${ack.unanswered} requests in flight; acknowledged ${ack.sessions.size} sessions, ${keysAcknowledged} data keys, ${ack.families.length} token families; after restart ${sessionsValid} sessions valid, ${keysKept} keys kept, ${familiesLive} families refreshed`,
      );
      expect(lost).toEqual([]);
      expect(sessionsValid).toBe(ack.sessions.size);
    }, 60_000);
  });
}

// `sqlite:` takes the runtime's first driver: better-sqlite3 on Node 20, node:sqlite on Node 24 (`npm run test:node24`).
crashScenario(`SQLite (${sqliteDrivers()[0] ?? 'no driver'})`, false, async () => ({ url: 'sqlite:', stop: async () => undefined }));

crashScenario('PostgreSQL', postgresMissing() !== null, async () => {
  const pg: PostgresServer = await startPostgres();
  return { url: pg.url, stop: () => pg.stop() };
});
