import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { latchkey } from '../../src/adapters/express.js';

describe.each([
  ['Express 5', express5],
  ['Express 4', express4 as unknown as typeof express5],
])('%s with the body parser registered after latchkey', (_name, express) => {
  it('reads the CSRF field itself and still hands the parsed form to the route', async () => {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const app = express();
    app.use(latchkey({ sessions }));
    app.use(express.urlencoded({ extended: false }));
    app.post('/login', (req, res, next) => {
      req.session.login('u1').then(() => res.json({ csrf: req.session.csrfToken }), next);
    });
    app.post('/post', (req, res) => {
      res.json({ title: (req.body as Record<string, string>).title });
    });
    const server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
      const { csrf } = (await login.json()) as { csrf: string };
      const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
      const post = (fields: Record<string, string>) =>
        fetch(`${url}/post`, {
          method: 'POST',
          headers: { cookie, 'sec-fetch-site': 'same-site', 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
      const ok = await post({ _csrf: csrf, title: 'hello' });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ title: 'hello' });
      expect((await post({ title: 'forged' })).status).toBe(403);
    } finally {
      server.close();
    }
  });
});
