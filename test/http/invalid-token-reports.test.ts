/**
 * `invalid-token` reports on a real node:http server, in real time: a
 * window's refusals arrive as one event when the window ends (a timer, no
 * further request needed), and a flood from many clients keeps at most
 * `guessing.maxClients` windows open, reporting the oldest early.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { InvalidTokenEvent } from '../../src/core/events.js';
import { createSessions, type Sessions, type SessionsOptions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { latchkey } from '../../src/adapters/node.js';

const NEVER_ISSUED = `${'Q'.repeat(22)}.${'W'.repeat(43)}`;

let server: Server | undefined;
let sessions: Sessions | undefined;

afterEach(async () => {
  if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
  await sessions?.close();
  server = undefined;
  sessions = undefined;
});

async function start(guessing: SessionsOptions['guessing']): Promise<{ url: string; reports: InvalidTokenEvent[] }> {
  sessions = createSessions({ store: memoryStore(), sweepInterval: false, guessing });
  const reports: InvalidTokenEvent[] = [];
  sessions.on('invalid-token', (e) => reports.push(e));
  server = createServer(
    latchkey({ sessions, carriers: ['cookie', 'bearer'], trustProxy: ['127.0.0.1'], onError: () => {} })(async (_req, res, session) => {
      await session.load();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ invalid: session.invalidReason }));
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reports };
}

async function present(url: string, ip: string, token = NEVER_ISSUED): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } });
  return ((await res.json()) as { invalid: unknown }).invalid;
}

describe('invalid-token reports over HTTP', () => {
  it('reports the refusals of a window once, when it ends, without another request', async () => {
    const { url, reports } = await start({ threshold: 20, window: '400ms' });
    const started = Date.now();
    for (let i = 0; i < 6; i++) expect(await present(url, '203.0.113.5')).toBe('unknown');
    expect(reports).toEqual([]);
    const deadline = Date.now() + 5000;
    while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(reports).toEqual([{ ip: '203.0.113.5', carrier: 'bearer', reason: 'unknown', count: 6, since: expect.any(Number), at: expect.any(Number) }]);
    expect(JSON.stringify(reports)).not.toContain(NEVER_ISSUED.slice(0, 22));
  });

  it('keeps at most maxClients windows open under a flood from many clients, reporting the oldest early', async () => {
    const { url, reports } = await start({ threshold: 20, window: '1h', maxClients: 16 });
    const clients = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`);
    for (const ip of clients) {
      for (let k = 0; k < 3; k++) expect(await present(url, ip)).toBe('unknown');
    }
    // An hour-long window, yet all but the 16 newest clients are reported: one event each, with all three refusals.
    expect(reports.map((r) => r.ip)).toEqual(clients.slice(0, 84));
    expect(reports.every((r) => r.count === 3 && r.carrier === 'bearer' && r.reason === 'unknown')).toBe(true);
    // Closing the engine reports what is still open, rather than dropping it.
    await sessions!.close();
    sessions = undefined;
    expect(reports.map((r) => r.ip)).toEqual(clients);
  });

  it('reports with the throttle turned off, and never counts a caller-made carrier label as a key of its own', async () => {
    const { url, reports } = await start(false);
    for (let i = 0; i < 30; i++) expect(await present(url, '203.0.113.9', 'x'.repeat(10 + i))).toBe('malformed');
    const engine = sessions!;
    for (const carrier of ['a'.repeat(17), 'Cookie', 'bearer\n']) await engine.validate(NEVER_ISSUED, { client: { ip: '203.0.113.9' }, carrier });
    await engine.close();
    sessions = undefined;
    expect(reports).toEqual([
      { ip: '203.0.113.9', carrier: 'bearer', reason: 'malformed', count: 30, since: expect.any(Number), at: expect.any(Number) },
      { ip: '203.0.113.9', carrier: null, reason: 'unknown', count: 3, since: expect.any(Number), at: expect.any(Number) },
    ]);
  });
});
