import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { HttpError } from '../../src/http/errors.js';
import { fetchRequest } from '../../src/http/fetch.js';
import type { HttpRequest } from '../../src/http/http-sessions.js';
import { asTokenTransport, createTokenTransport, type TokenTransportOptions } from '../../src/http/tokens.js';
import { setup } from '../tokens/helpers.js';

function request(headers: Record<string, string>, method = 'GET', body: Record<string, string> = {}): HttpRequest {
  return {
    method,
    url: '/',
    header: (name) => headers[name],
    remoteAddress: '127.0.0.1',
    bodyField: async (name) => body[name],
  };
}

describe('createTokenTransport', () => {
  it('refuses configurations it cannot make safe, saying how to fix them', async () => {
    const { tokens } = await setup();
    const refuses = (o: Partial<TokenTransportOptions>, message: string) => {
      const attempt = () => createTokenTransport({ tokens, ...o } as TokenTransportOptions);
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(message);
    };
    refuses({ tokens: {} as never }, 'tokens must be token mode from createTokens(');
    refuses({ carrier: 'url' as never }, "carrier must be 'bearer' (Authorization header and JSON body) or 'cookie' (HttpOnly cookies)");
    refuses({ refreshCookie: { path: '/auth/refresh' } }, "refreshCookie applies to the cookie carrier only; add carrier: 'cookie', or remove refreshCookie");
    refuses(
      { carrier: 'cookie', refreshCookie: { name: '__Host-refresh' } },
      "refreshCookie.name: a __Host- cookie must have Path=/, but the refresh cookie is scoped to the refresh path; use the __Secure- prefix (the default '__Secure-refresh')",
    );
    refuses({ carrier: 'cookie', refreshCookie: { path: '/' } }, "refreshCookie.path: '/' would send the refresh token with every request");
    refuses({ carrier: 'cookie', refreshCookie: { sameSite: 'none' } as never }, 'refreshCookie.sameSite cannot be set: the refresh cookie is always HttpOnly, Secure and SameSite=Strict');
    refuses({ carrier: 'cookie', accessCookie: { path: '/api' } as never }, 'accessCookie.path cannot be set');
    refuses({ carrier: 'cookie', accessCookie: { name: '__Host-at' }, refreshCookie: { domain: 'bad domain' } }, 'refreshCookie.domain must be a host name');
    refuses({ carrier: 'cookie', csrf: { header: 'x-csrf' } as never }, 'csrf.header is not an option of token mode');
    refuses({ carrier: 'cookie', csrf: { trustedOrigins: ['https://a.example/path'] } }, 'csrf.trustedOrigins entry "https://a.example/path" must be an origin');
    refuses({ realm: 'a"b' }, 'realm must be 1 to 64 printable ASCII characters');
    refuses({ carrier: 'cookie', accessCookie: { name: 'at' } }, 'accessCookie.name "at" lacks the __Host- prefix');
    refuses({ carrier: 'cookie', refreshCookie: { name: 'rt' } }, 'refreshCookie.name "rt" lacks the __Secure- prefix: with path "/auth/refresh" it cannot be __Host-');
    refuses({ carrier: 'cookie', refreshCookie: { persistent: 'yes' as never } }, 'refreshCookie.persistent must be true');
    refuses({ clearSiteData: { executionContexts: true } as never }, 'clearSiteData.executionContexts is not an option; known options: storage, cookies');
    refuses({ clearSiteData: { storage: 'yes' } as never }, 'clearSiteData.storage must be a boolean');
    expect(() => createTokenTransport({ tokens }).guard({ scope: 'a "b"' })).toThrow('scope must be a space-separated string');
  });

  it('drops the cookie prefixes and Secure only in development', async () => {
    const { tokens } = await setup();
    const pair = await tokens.issue({ userId: 'dev' });
    const t = createTokenTransport({ tokens, carrier: 'cookie', development: true });
    const lines = t.respond(pair).headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
    expect(lines[0]).toBe(`access=${pair.accessToken}; Max-Age=300; Path=/; HttpOnly; SameSite=Strict`);
    expect(lines[1]).toMatch(/^refresh=[^;]+; Path=\/auth\/refresh; HttpOnly; SameSite=Strict$/);
    const named = createTokenTransport({ tokens, carrier: 'cookie', development: true, accessCookie: { name: 'at' }, refreshCookie: { name: 'rt' } });
    expect(named.respond(pair).headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v.slice(0, 3))).toEqual(['at=', 'rt=']);
  });

  it('takes either a transport or its options in adapters', async () => {
    const { tokens } = await setup();
    const t = createTokenTransport({ tokens });
    expect(asTokenTransport(t)).toBe(t);
    expect(asTokenTransport({ tokens }).carrier).toBe('bearer');
  });

  it('lets an RS256 access token of ordinary size (about 1,050 characters) through the guard, as verify() does', async () => {
    const { tokens, clock } = await setup({ keys: { algorithm: 'RS256' } });
    const pair = await tokens.issue({ userId: 'user-0123456789' });
    const claims = {
      email: 'ada.lovelace@analytical-engines.example.com',
      name: 'Ada King, Countess of Lovelace',
      roles: ['billing:read', 'billing:write', 'reports:read', 'reports:export', 'admin:users'],
      tenant: 'tenant-7f3c9a2e-5b1d-4e8f-9a6c-0d2b4f8e1c3a',
      org: 'org-2e9b7c4d-1a3f-4b5e-8c6d-7e9f0a1b2c3d',
    };
    const jwt = await tokens.access.sign({ subject: 'user-0123456789', sessionId: pair.session.handle, scope: 'openid profile email billing reports', authTime: clock.now(), claims });
    expect(jwt.length).toBeGreaterThanOrEqual(1050);
    expect(jwt.length).toBeLessThan(1200);
    expect((await tokens.verify(jwt)).ok).toBe(true);
    const r = await createTokenTransport({ tokens }).guard()(request({ authorization: `Bearer ${jwt}` }));
    expect(r.ok && r.claims.email).toBe(claims.email);
  });

  it('answers 503 store-unavailable when a session check cannot reach the store', async () => {
    const { tokens, store } = await setup();
    const pair = await tokens.issue({ userId: 'u1' });
    const guard = createTokenTransport({ tokens }).guard({ checkSession: true });
    store.get = async () => {
      throw new Error('ECONNREFUSED');
    };
    const r = await guard(request({ authorization: `Bearer ${pair.accessToken}` }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ status: 503, reason: 'store-unavailable' });
  });

  it('reads refresh_token from a JSON body and treats unparsable JSON as no token', async () => {
    const { tokens } = await setup();
    const t = createTokenTransport({ tokens });
    const pair = await tokens.issue({ userId: 'u1' });
    const post = (body: string) =>
      t.refresh(fetchRequest(new Request('http://x/auth/refresh', { method: 'POST', body, headers: { 'content-type': 'application/json' } }), undefined));
    const bad = await post('{"refresh_token": ');
    expect(bad.ok === false && bad.error.body()).toEqual({ error: 'invalid_request', message: 'refresh_token missing', detail: 'missing' });
    const wrongType = await post(JSON.stringify({ refresh_token: 42 }));
    expect(wrongType.ok === false && wrongType.error.status).toBe(400);
    const ok = await post(JSON.stringify({ refresh_token: pair.refreshToken }));
    expect(ok.ok && ok.response.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
  });

  it('signs out without a refresh cookie by clearing the cookies (nothing to revoke)', async () => {
    const { tokens } = await setup();
    const t = createTokenTransport({ tokens, carrier: 'cookie' });
    const r = await t.logout(request({ 'sec-fetch-site': 'same-origin' }, 'POST'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.response.body).toEqual({ revoked: false });
    expect(r.response.headers.filter(([n]) => n === 'set-cookie')).toHaveLength(2);
  });

  it('never throws on arbitrary Authorization and Cookie headers, and never echoes them', async () => {
    const { tokens } = await setup();
    const guard = createTokenTransport({ tokens, carrier: 'cookie' }).guard();
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.stringMatching(/^[Bb]earer +[A-Za-z0-9._~+/=-]{0,80} *$/),
      fc.constant(`Bearer ${'e'.repeat(30)}.${'f'.repeat(30)}.${'g'.repeat(30)}`),
    );
    await fc.assert(
      fc.asyncProperty(text, text, fc.constantFrom('GET', 'POST'), async (authorization, cookie, method) => {
        const r = await guard(request({ authorization, cookie: `__Host-access=${cookie}`, 'sec-fetch-site': 'same-origin' }, method));
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.error).toBeInstanceOf(HttpError);
        expect([400, 401]).toContain(r.error.status);
        const shown = JSON.stringify(r.error.body()) + JSON.stringify(r.error.headers) + r.error.message;
        for (const secret of [authorization.replace(/^bearer +/i, '').trim(), cookie.trim()]) {
          if (secret.length >= 8) expect(shown).not.toContain(secret);
        }
      }),
      { numRuns: 300 },
    );
  });
});
