import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { latchkey, type LatchkeyEnv } from '../../src/adapters/hono.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';

describe("the Hono middleware and Hono's error handler", () => {
  it("answers a refusal thrown in a route (requireUser) as latchkey's 401 without Hono logging it as a crash, and leaves other errors to Hono", async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const app = new Hono<LatchkeyEnv>();
    app.use(latchkey({ sessions: createSessions({ store: memoryStore(), sweepInterval: false }) }));
    app.get('/guarded', async (c) => {
      (await c.var.session.load()).requireUser();
      return c.json({ ok: true });
    });
    app.get('/broken', () => {
      throw new Error('app failure');
    });
    const server = createAdaptorServer({ fetch: app.fetch });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const guarded = await fetch(`${url}/guarded`);
      expect(guarded.status).toBe(401);
      expect(await guarded.json()).toEqual({ error: 'unauthenticated', message: 'sign-in required' });
      expect(logged.mock.calls).toEqual([]);
      // An application's own failure is still Hono's to report and answer.
      const broken = await fetch(`${url}/broken`);
      expect(broken.status).toBe(500);
      expect(logged.mock.calls.map(([err]) => (err as Error).message)).toEqual(['app failure']);
    } finally {
      logged.mockRestore();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
