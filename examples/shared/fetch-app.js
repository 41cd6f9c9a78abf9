/* global Response */
// One small app on the Fetch adapter, the same on every runtime (Bun.serve,
// Deno.serve, a Workers module, Node through a bridge): it uses only what
// every runtime has (no process, no Buffer, no file), and constructs
// everything at once with no timer, random number or I/O, so that a Workers
// module can build it in its global scope. The runtime conformance tests
// (test/runtimes/) drive it on each runtime.
//
//   GET  /            a page: sign-in form, or who is signed in and their notes
//   POST /login       sign in (form field `username`) → 303 to /
//   GET  /me          the signed-in user and notes as JSON; 401 when signed out
//   POST /notes       adds a note (form field `note`) to the session's data → JSON (303 to / for a browser)
//   POST /logout      sign out → 303 to /
//
// Token mode (mode: 'tokens', cookie carrier): POST /login sets the access and
// refresh cookies, GET /me needs the access token, POST /auth/refresh rotates,
// POST /logout revokes the family.
//
// Remote mode (mode: 'remote'): the same routes, with stateful sessions kept
// by the session service (`latchkey serve`) and checked through
// latchkey/client: for a Worker, which reaches no store of its own.
import { createSessions } from 'latchkey';
import { createClient } from 'latchkey/client';
import { latchkey, sendTokens, tokenGuard, tokenLogout, tokenRefresh } from 'latchkey/fetch';
import { checkOrigin, createTokenTransport } from 'latchkey/http';
import { createSealedSessions } from 'latchkey/sealed';
import { memoryStore } from 'latchkey/stores/memory';
import { createKeySet, createTokens } from 'latchkey/tokens';

/** The modes the app runs in. */
export const MODES = ['stateful', 'sealed', 'tokens', 'remote'];

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const html = (body) => new Response(`<!doctype html><meta charset="utf-8"><title>latchkey</title>${body}\n`, { headers: { 'content-type': 'text/html; charset=utf-8' } });
const home = () => new Response(null, { status: 303, headers: { location: '/' } });
const notFound = () => Response.json({ error: 'not-found' }, { status: 404 });

async function field(request, name) {
  const form = await request.formData();
  const value = form.get(name);
  return typeof value === 'string' ? value.slice(0, 200) : '';
}

/**
 * The app's Fetch handler for one mode.
 *
 * - `stateful`: sessions in a memory store (or the `store` given: the Bun,
 *   Deno and Node servers pass an SQLite store when `LATCHKEY_SQLITE` names
 *   a file), an opaque token in the cookie.
 * - `sealed`: the session sealed in the cookie; the memory store holds only
 *   revocation records, so that sign-out ends a copied cookie too.
 * - `tokens`: short access JWTs and rotating refresh tokens in cookies.
 * - `remote`: stateful sessions kept by the session service at
 *   `service.baseUrl`, reached with the API key `service.apiKey`.
 *
 * @param {{ mode: 'stateful' | 'sealed' | 'tokens' | 'remote', secret?: string, store?: import('latchkey').Store, service?: { baseUrl: string, apiKey: string }, remoteAddress?: (request: Request, ...rest: unknown[]) => string | undefined }} options
 * @returns {(request: Request, ...rest: unknown[]) => Promise<Response>}
 */
export function createFetchApp({ mode, secret, store: given, service, remoteAddress }) {
  if (mode === 'tokens') return tokenApp(secret);
  if (!MODES.includes(mode)) throw new TypeError(`mode must be one of ${MODES.join(', ')} (got ${JSON.stringify(mode)})`);
  const withSession =
    mode === 'remote'
      ? latchkey({ remote: createClient({ baseUrl: service?.baseUrl, apiKey: service?.apiKey, timeout: '2s' }), remoteAddress })
      : mode === 'stateful'
        ? latchkey({ sessions: createSessions({ store: given ?? memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' }), remoteAddress })
        : latchkey({ sealed: createSealedSessions({ secrets: [secret], store: given ?? memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' }), remoteAddress });

  return withSession(async (request, session) => {
    const { pathname } = new URL(request.url);
    const route = `${request.method} ${pathname}`;
    if (route === 'GET /') {
      await session.load();
      if (!session.isAuthenticated) {
        return html(`<h1>Sign in (${mode})</h1><form method="post" action="/login"><input type="hidden" name="_csrf" value="${escape(session.csrfToken ?? '')}">
          <label>Name <input name="username" required></label> <button>Sign in</button></form>`);
      }
      const csrf = `<input type="hidden" name="_csrf" value="${escape(session.csrfToken ?? '')}">`;
      const notes = (session.get('notes') ?? []).map((n) => `<li>${escape(n)}</li>`).join('');
      return html(`<h1>Signed in as ${escape(session.userId)} (${mode})</h1><ul>${notes}</ul>
        <form method="post" action="/notes">${csrf}<input name="note" required> <button>Add a note</button></form>
        <form method="post" action="/logout">${csrf}<button>Sign out</button></form>`);
    }
    if (route === 'POST /login') {
      // Check the password here; latchkey only manages the session.
      await session.login((await field(request, 'username')) || 'guest');
      return home();
    }
    if (route === 'GET /me') {
      await session.load();
      session.requireUser();
      return Response.json({ user: session.userId, notes: session.get('notes') ?? [] });
    }
    if (route === 'POST /notes') {
      await session.load();
      session.requireUser();
      const notes = [...(session.get('notes') ?? []), await field(request, 'note')].slice(-20);
      session.set('notes', notes);
      // A browser's form post goes back to the page; an API client gets JSON.
      return (request.headers.get('accept') ?? '').includes('text/html') ? home() : Response.json({ notes });
    }
    if (route === 'POST /logout') {
      await session.logout();
      return home();
    }
    return notFound();
  });
}

/** Token mode. The key set is made in the first request (generating keys draws random bytes: not at construction). */
function tokenApp(secret) {
  const store = memoryStore();
  const sessions = createSessions({ store, idleTimeout: '14d', absoluteTimeout: '30d' });
  let ready = null;
  const handlers = () =>
    (ready ??= createKeySet({ algorithm: 'ES256' }).then((keys) => {
      const tokens = createTokens({ sessions, keys, issuer: 'https://latchkey.example', audience: 'example', refreshSecret: secret });
      const transport = createTokenTransport({ tokens, carrier: 'cookie' });
      return {
        login: async (request) => {
          // A sign-in sets cookies: refuse one posted from another site (login CSRF), as the transport does for its own endpoints.
          const h = request.headers;
          const verdict = checkOrigin({ trustedOrigins: new Set() }, { secFetchSite: h.get('sec-fetch-site') ?? undefined, origin: h.get('origin') ?? undefined, host: h.get('host') ?? undefined });
          if (verdict !== 'pass') return Response.json({ error: 'csrf' }, { status: 403 });
          // Check the password here; latchkey only manages the session.
          return sendTokens(transport, await tokens.issue({ userId: (await field(request, 'username')) || 'guest' }));
        },
        me: tokenGuard(transport, { checkSession: true })(async (_request, claims) => Response.json({ user: claims.sub })),
        refresh: tokenRefresh(transport),
        logout: tokenLogout(transport),
      };
    }));

  return async (request) => {
    const { pathname } = new URL(request.url);
    const route = `${request.method} ${pathname}`;
    const h = await handlers();
    if (route === 'POST /login') return h.login(request);
    if (route === 'GET /me') return h.me(request);
    if (route === 'POST /auth/refresh') return h.refresh(request);
    if (route === 'POST /logout') return h.logout(request);
    return notFound();
  };
}
