import { describe, expect, it } from 'vitest';
import { InvalidDataError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createHttpSessions, type HttpRequest } from '../../src/http/http-sessions.js';
import type { RequestSession } from '../../src/http/request-session.js';

function request(headers: Record<string, string> = {}, method = 'GET'): HttpRequest {
  return { method, url: '/', header: (n) => headers[n], remoteAddress: '192.0.2.10' };
}

async function session(headers?: Record<string, string>): Promise<RequestSession> {
  const http = createHttpSessions({ sessions: createSessions({ store: memoryStore(), sweepInterval: false }) });
  const begun = await http.begin(request(headers));
  if (!begun.ok) throw begun.error;
  return begun.session;
}

describe('the request-scoped session', () => {
  it('must be loaded before it is read', async () => {
    const s = await session();
    expect(() => s.userId).toThrow(TypeError);
    expect(() => s.get('k')).toThrow('call `await session.load()` before reading it');
    await s.load();
    expect(s.userId).toBeNull();
  });

  it('sees its own changes before they are committed, and nothing is written until then', async () => {
    const s = await (await session()).load();
    s.set('a', 1).set('b', { x: [1, 2] }).unset('a');
    expect(s.get('a')).toBeUndefined();
    expect(s.get('b')).toEqual({ x: [1, 2] });
    expect(s.handle).toBeNull();
    expect(s.responseHeaders()).toEqual([]);
    await s.commit();
    expect(s.handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(s.info?.data).toEqual({ b: { x: [1, 2] } });
    expect(s.responseHeaders()).toEqual([
      ['set-cookie', expect.stringMatching(/^__Host-session=/)],
      ['cache-control', 'no-store'],
    ]);
  });

  it('refuses values that cannot be stored at once, with a typed error', async () => {
    const s = await session();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => s.set('k', cyclic)).toThrow(InvalidDataError);
    expect(() => s.set('k', () => 1)).toThrow(InvalidDataError);
    expect(() => s.set('__proto__', 1)).toThrow(TypeError);
    expect(s.dirty).toBe(false);
  });

  it('an anonymous visitor who only reads costs nothing and gets no cookie', async () => {
    const s = await (await session()).load();
    expect(s.get('anything')).toBeUndefined();
    expect(s.dirty).toBe(false);
    await s.commit();
    expect(s.responseHeaders()).toEqual([]);
  });
});
