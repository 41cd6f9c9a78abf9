import Fastify from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { latchkey } from '../../src/adapters/fastify.js';

describe('the Fastify plugin and the application error handler', () => {
  it("answers latchkey's errors itself and leaves every other error to the application's handler, without warnings", async () => {
    const warn = vi.spyOn(process, 'emitWarning');
    const app = Fastify();
    await app.register(latchkey, { sessions: createSessions({ store: memoryStore(), sweepInterval: false }) });
    app.setErrorHandler((err: Error, _req, reply) => reply.code(418).send({ mine: err.message }));
    app.get('/guarded', async (request) => {
      await request.session.load();
      request.session.requireUser();
      return { ok: true };
    });
    app.get('/broken', async () => {
      throw new Error('app failure');
    });
    app.get('/callback', (_request, reply) => {
      setTimeout(() => reply.send({ late: true }), 5);
    });
    const guarded = await app.inject('/guarded');
    expect(guarded.statusCode).toBe(401);
    expect(guarded.json()).toEqual({ error: 'unauthenticated', message: 'sign-in required' });
    const broken = await app.inject('/broken');
    expect(broken.statusCode).toBe(418);
    expect(broken.json()).toEqual({ mine: 'app failure' });
    expect((await app.inject('/callback')).json()).toEqual({ late: true });
    expect(warn.mock.calls.filter(([w]) => String(w).includes('errorHandler'))).toEqual([]);
    warn.mockRestore();
    await app.close();
  });
});
