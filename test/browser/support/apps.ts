/**
 * Real applications for the browser module's Chromium tests, on real
 * listening node:http servers on 127.0.0.1: token mode (bearer or cookie
 * carrier) and cookie sessions, each serving a page that runs the built
 * `latchkey/browser` (dist/browser/, same origin) and shows its state.
 * The servers count the requests the tests are about (refreshes,
 * sign-outs), so that a test checks what reached the server, not what the
 * module says about itself.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Clock } from '../../../src/core/clock.js';
import { createSessions, type Sessions } from '../../../src/core/sessions.js';
import { issueTokens, latchkey, sendTokens, tokenLogout, tokenRefresh } from '../../../src/adapters/node.js';
import { createTokenTransport, type TokenTransport } from '../../../src/http/tokens.js';
import { nodeRequest, sendNodeError, sendNodeJson } from '../../../src/http/node.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { createKeySet } from '../../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../../src/tokens/tokens.js';
import { listen } from '../../adapters/support/apps.js';
import { browserModules } from '../../../src/server/browser-modules.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../../tokens/helpers.js';

/** The page's own script: makes the session from the page's configuration and shows the state (never a token). */
const APP_JS = `import { createBrowserSession, dpopProofs } from '/dist/browser/index.js';
const { dpop, ...config } = JSON.parse(document.getElementById('config').textContent);
if (dpop) config.hooks = [dpopProofs()];
const session = createBrowserSession(config);
window.lk = session;
window.events = [];
for (const type of ['change', 'signed-in', 'signed-out', 'expiring', 'expired']) {
  session.on(type, (e) => window.events.push({ type, at: Date.now(), event: JSON.parse(JSON.stringify(e)) }));
}
session.subscribe((s) => {
  const out = document.getElementById('state');
  out.textContent = JSON.stringify(s);
  out.dataset.status = s.status;
});
`;

/** Serves the page, its script and the built browser module; `false` when the URL is none of them. */
function serveStatic(req: IncomingMessage, res: ServerResponse, config: Record<string, unknown>): boolean {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/') {
    const warn = url.searchParams.get('warnBefore');
    const json = JSON.stringify({ ...config, ...(warn === null ? {} : { warnBefore: Number(warn) }) }).replace(/</g, '\\u003c');
    // No CSP here: Playwright's waitForFunction evaluates its predicate as a string. The demo's test runs the module under its strict CSP.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><meta charset="utf-8"><title>app</title><script type="application/json" id="config">${json}</script><main><p id="state" data-status="none"></p></main><script type="module" src="/app.js"></script>`);
    return true;
  }
  if (url.pathname === '/app.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    res.end(APP_JS);
    return true;
  }
  if (url.pathname.startsWith('/dist/')) {
    const body = modules?.get(url.pathname.slice('/dist/'.length));
    if (body === undefined) {
      res.writeHead(404).end();
      return true;
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
    return true;
  }
  return false;
}

/** The built module's files (see src/server/browser-modules.ts), read when the first application starts. */
let modules: ReadonlyMap<string, string> | null = null;

async function loadModules(): Promise<void> {
  modules ??= await browserModules();
  if (modules === null) throw new Error('dist/browser/ is not built: npm run build (the tests call ensureBuilt() first)');
}

/** What a test reads from a running application. */
export interface Counts {
  refresh: number;
  logout: number;
  everywhere: number;
  /** Requests to `/api/me`. */
  api: number;
}

export interface TokenApp {
  url: string;
  counts: Counts;
  /** The `x-proof` header of every request to the token endpoints and `/api/nonce` (a stand-in for a per-request proof). */
  proofs: Array<{ path: string; proof: string | null }>;
  tokens: Tokens;
  transport: TokenTransport;
  /**
   * Holds the next `n` requests to `/api/me` unanswered until all `n` have
   * arrived, then answers them: no answer (and so no refresh it could start)
   * reaches any tab before every one of the `n` requests was sent.
   */
  holdApi(n: number): void;
  close(): Promise<void>;
}

export interface TokenAppOptions {
  carrier: 'bearer' | 'cookie';
  accessTtl: string;
  idleTimeout: string;
  absoluteTimeout: string;
  /** The server's clock (the engine's and the tokens'); the system clock by default. */
  clock?: Clock;
  /** How long a rotated refresh token still refreshes. @default '10s' */
  graceWindow?: string;
  /** Holds each refresh answer this long after the refresh was made (a slow network on the way back). @default 0 */
  refreshDelayMs?: number;
  /** Token mode with DPoP (and the page with `dpopProofs()`); `nonce` turns server nonces on, changing every `nonceStep`. @default off */
  dpop?: { nonce?: boolean; nonceStep?: string };
}

/**
 * Token mode: `POST /auth/login?user=` signs in; `POST /auth/refresh`,
 * `POST /auth/refresh/logout`, `POST /auth/refresh/everywhere` (guarded:
 * ends every family of the user, and clears the cookies); `GET /api/me`
 * (guarded) answers the claims.
 */
export async function startTokenApp(o: TokenAppOptions): Promise<TokenApp> {
  await loadModules();
  const clock = o.clock;
  const store = memoryStore(clock === undefined ? {} : { clock });
  const sessions: Sessions = createSessions({ store, idleTimeout: o.idleTimeout, absoluteTimeout: o.absoluteTimeout, sweepInterval: false, ...(clock === undefined ? {} : { clock }) });
  const keys = await createKeySet(clock === undefined ? {} : { clock });
  const tokens = createTokens({
    sessions,
    keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    refreshSecret: REFRESH_SECRET,
    accessTtl: o.accessTtl,
    ...(o.graceWindow === undefined ? {} : { graceWindow: o.graceWindow }),
    ...(o.dpop === undefined ? {} : { dpop: o.dpop.nonce ? { nonce: { secret: REFRESH_SECRET, ...(o.dpop.nonceStep === undefined ? {} : { step: o.dpop.nonceStep }) } } : {} }),
  });
  const transport = createTokenTransport({ tokens, carrier: o.carrier, onError: () => {} });
  const counts: Counts = { refresh: 0, logout: 0, everywhere: 0, api: 0 };
  const proofs: TokenApp['proofs'] = [];
  let held: Array<() => void> | null = null;
  let heldFor = 0;
  const refresh = tokenRefresh(transport);
  const logout = tokenLogout(transport);
  const guard = transport.guard();
  const config = { mode: o.carrier, refreshUrl: '/auth/refresh', logoutUrl: '/auth/refresh/logout', logoutEverywhereUrl: '/auth/refresh/everywhere', dpop: o.dpop !== undefined };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && serveStatic(req, res, config)) return;
    if (path.startsWith('/auth/') || path === '/api/nonce') {
      const proof = req.headers['x-proof'];
      proofs.push({ path, proof: typeof proof === 'string' ? proof : null });
    }
    const fail = (err: unknown): void => {
      res.statusCode = 500;
      res.end(String(err));
    };
    if (req.method === 'POST' && path === '/auth/login') {
      const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? 'alice';
      if (o.dpop !== undefined) return void issueTokens(req, res, transport, { userId: user });
      tokens.issue({ userId: user }).then((pair) => sendTokens(res, transport, pair), fail);
      return;
    }
    if (path === '/auth/refresh') {
      counts.refresh++;
      if (!o.refreshDelayMs) return refresh(req, res);
      const delay = o.refreshDelayMs;
      void transport.refresh(nodeRequest(req)).then((r) => setTimeout(() => (r.ok ? sendNodeJson(res, r.response) : sendNodeError(res, r.error)), delay), fail);
      return;
    }
    if (path === '/auth/refresh/logout') {
      counts.logout++;
      return logout(req, res);
    }
    if (path === '/auth/refresh/everywhere') {
      counts.everywhere++;
      void (async () => {
        const checked = await guard(nodeRequest(req));
        if (!checked.ok) return sendNodeError(res, checked.error);
        const ended = await tokens.revokeUser(checked.claims.sub);
        // The cookie carrier's logout answer clears the cookies (the family is gone already).
        const cleared = o.carrier === 'cookie' ? await transport.logout(nodeRequest(req)) : null;
        if (cleared !== null && cleared.ok) return sendNodeJson(res, { ...cleared.response, body: { ended: ended.length } });
        return sendNodeJson(res, { status: 200, headers: [['cache-control', 'no-store']], body: { ended: ended.length } });
      })().catch(fail);
      return;
    }
    if (path === '/api/me') {
      counts.api++;
      const answer = (): void => void guard(nodeRequest(req))
        .then((checked) => {
          if (!checked.ok) return sendNodeError(res, checked.error);
          // What the guard asks to send with the answer (a fresh DPoP-Nonce).
          for (const [name, value] of checked.headers) res.setHeader(name, value);
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ user: checked.claims.sub, sid: checked.claims.sid, ...(checked.claims.cnf === undefined ? {} : { jkt: checked.claims.cnf.jkt }) }));
        })
        .catch(fail);
      if (held === null) return answer();
      held.push(answer);
      if (held.length < heldFor) return;
      const release = held;
      held = null;
      for (const next of release) next();
      return;
    }
    if (path === '/api/nonce') {
      // A server nonce challenge, as DPoP's use_dpop_nonce: the proof must carry the nonce the server chose.
      if (req.headers['x-proof'] !== 'nonce=n-42') {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n-42', 'cache-control': 'no-store' });
        return res.end('{"error":"use_dpop_nonce"}');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return res.end('{"ok":true}');
    }
    res.writeHead(404).end();
  });
  const running = await listen(server);
  return {
    url: running.url,
    counts,
    proofs,
    tokens,
    transport,
    holdApi(n) {
      held = [];
      heldFor = n;
    },
    async close() {
      await running.close();
      await sessions.close();
    },
  };
}

export interface SessionApp {
  url: string;
  counts: Counts;
  sessions: Sessions;
  /** For each unsafe request to `/api/echo`: the CSRF header it carried and whether it was the session's token. */
  csrf: Array<{ header: string | null; matches: boolean }>;
  close(): Promise<void>;
}

/**
 * Cookie sessions (`latchkey({ sessions, csrf: { cookie: true } })`):
 * `POST /login?user=`, `GET /session` ({ user }), `POST /logout`,
 * `POST /logout-everywhere`, `GET /api/me`, `POST /api/echo`.
 */
export async function startSessionApp(o: { idleTimeout: string; absoluteTimeout: string; clock?: Clock }): Promise<SessionApp> {
  await loadModules();
  const clock = o.clock === undefined ? {} : { clock: o.clock };
  const sessions = createSessions({ store: memoryStore(clock), idleTimeout: o.idleTimeout, absoluteTimeout: o.absoluteTimeout, sweepInterval: false, ...clock });
  const counts: Counts = { refresh: 0, logout: 0, everywhere: 0, api: 0 };
  const csrf: SessionApp['csrf'] = [];
  const config = { mode: 'session', sessionUrl: '/session', logoutUrl: '/logout', logoutEverywhereUrl: '/logout-everywhere' };
  const withSession = latchkey({ sessions, csrf: { cookie: true }, onError: () => {} });
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(
    withSession(async (req, res, session) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && serveStatic(req, res, config)) return;
      await session.load();
      switch (url.pathname) {
        case '/login':
          await session.login(url.searchParams.get('user') ?? 'alice');
          return json(res, 200, { user: session.userId });
        case '/session':
          return json(res, 200, { user: session.userId });
        case '/logout':
          counts.logout++;
          await session.logout();
          return json(res, 200, { ok: true });
        case '/logout-everywhere':
          counts.everywhere++;
          return json(res, 200, { revoked: await session.logoutEverywhere() });
        case '/api/me':
          counts.api++;
          if (!session.isAuthenticated) return json(res, 401, { error: 'unauthenticated' });
          return json(res, 200, { user: session.userId });
        case '/api/echo': {
          const header = req.headers['x-csrf-token'];
          const value = typeof header === 'string' ? header : null;
          csrf.push({ header: value, matches: value !== null && value === session.csrfToken });
          return json(res, 200, { ok: true });
        }
        default:
          return json(res, 404, { error: 'not-found' });
      }
    }),
  );
  const running = await listen(server);
  return {
    url: running.url,
    counts,
    sessions,
    csrf,
    async close() {
      await running.close();
      await sessions.close();
    },
  };
}
