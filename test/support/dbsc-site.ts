/**
 * A small site that runs latchkey's DBSC protocol core over an in-memory
 * session map, the way the HTTP layer will once it is wired in: `GET
 * /login` signs in and asks for registration, the registration and
 * refresh endpoints are the core's, `GET /me` needs a valid bound cookie
 * once the session is bound, `GET /rotate` gives the session a new handle
 * and keeps its binding, `GET /logout` ends it. Over HTTPS for Chromium
 * (with a certificate), over plain node:http for the test clients.
 *
 * Every request is logged with what the core decided and the proof it
 * carried (decoded), so that tests can check what a browser really sent.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { readCookie } from '../../src/http/cookies.js';
import { createDbsc, memoryChallengeStore, type Dbsc, type DbscAnswer, type DbscBinding, type DbscOptions, type DbscSession } from '../../src/http/dbsc/index.js';

/** One line of the site's log: what came in, what the protocol core decided. */
export interface LogEntry {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** `registered`, `refreshed`, `challenged`, `terminated`, `refused`, `authenticated`, `unauthenticated`… */
  readonly outcome: string;
  readonly reason?: string;
  /** The anomaly the core flagged (a proof a genuine browser would not send), if any. */
  readonly anomaly?: string | null;
  readonly status: number;
  /** The decoded proof (header and payload), when the request carried one. */
  readonly proof?: { readonly header: Record<string, unknown>; readonly payload: Record<string, unknown> };
  /** `Sec-Secure-Session-Id` as sent. */
  readonly sessionId?: string;
  /** The bound cookie value the request carried, if any. */
  readonly boundCookie?: string | null;
}

export interface SessionEntry {
  handle: string;
  user: string;
  binding: DbscBinding | null;
}

/** The running site. */
export interface DbscSite {
  readonly origin: string;
  readonly dbsc: Dbsc;
  readonly log: LogEntry[];
  readonly sessions: Map<string, SessionEntry>;
  close(): Promise<void>;
}

export const SESSION_COOKIE = '__Host-session';

function send(res: ServerResponse, answer: DbscAnswer): void {
  res.statusCode = answer.status;
  for (const [name, value] of answer.headers) {
    if (name === 'set-cookie') res.appendHeader('set-cookie', value);
    else res.setHeader(name, value);
  }
  res.end(answer.body ?? undefined);
}

function decodeProof(value: string | undefined): LogEntry['proof'] {
  if (value === undefined) return undefined;
  const jwt = value.startsWith('"') ? value.slice(1, -1) : value;
  try {
    return { header: decodeProtectedHeader(jwt) as Record<string, unknown>, payload: decodeJwt(jwt) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * Starts the site on 127.0.0.1: HTTPS (browsed as https://localhost:port)
 * with `tls`, else plain HTTP. `sessions` and `options.challenges` may be
 * shared with another site, to play two instances of one deployment.
 */
export async function startDbscSite(
  o: { tls?: { key: Buffer; cert: Buffer }; options?: Partial<DbscOptions>; sessions?: Map<string, SessionEntry> } = {},
): Promise<DbscSite> {
  const sessions = o.sessions ?? new Map<string, SessionEntry>();
  const log: LogEntry[] = [];
  const clock = o.options?.clock;
  const dbsc = createDbsc({ secret: randomBytes(32), challenges: memoryChallengeStore(clock === undefined ? {} : { clock }), scope: { exclude: ['/favicon.ico'] }, ...o.options });
  let origin = '';

  const sessionOf = (req: IncomingMessage): DbscSession | null => {
    const handle = readCookie(req.headers.cookie, SESSION_COOKIE);
    const entry = handle === null ? undefined : sessions.get(handle);
    return entry === undefined ? null : { handle: entry.handle, binding: entry.binding };
  };
  const note = (req: IncomingMessage, path: string, entry: Pick<LogEntry, 'outcome' | 'reason' | 'anomaly' | 'status'>) => {
    log.push({
      at: Date.now(),
      method: req.method ?? '',
      path,
      proof: decodeProof(req.headers['secure-session-response'] as string | undefined),
      sessionId: req.headers['sec-secure-session-id'] as string | undefined,
      boundCookie: readCookie(req.headers.cookie, dbsc.cookieName),
      ...entry,
    });
  };
  const html = (res: ServerResponse, status: number, title: string, cookies: string[] = []) => {
    if (cookies.length > 0) res.setHeader('set-cookie', cookies);
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><title>${title}</title><p>${title}</p>`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    const request = { header: (name: string) => req.headers[name] as string | undefined };
    if (req.method === 'POST' && path === dbsc.registrationPath) {
      const session = sessionOf(req);
      const result = await dbsc.register(request, session, { origin });
      if (result.ok && session !== null) {
        // Insert-if-absent: a session keeps the first key it registered.
        const entry = sessions.get(session.handle);
        if (entry !== undefined && entry.binding === null) entry.binding = result.binding;
      }
      note(req, path, result.ok ? { outcome: 'registered', status: 200 } : { outcome: 'refused', reason: result.reason, anomaly: result.anomaly, status: result.answer.status });
      return send(res, result.answer);
    }
    if (req.method === 'POST' && path === dbsc.refreshPath) {
      const result = await dbsc.refresh(request, sessionOf(req), { origin });
      note(req, path, {
        outcome: result.outcome,
        reason: result.outcome === 'refreshed' ? undefined : result.reason,
        anomaly: result.outcome === 'challenged' ? result.anomaly : null,
        status: result.answer.status,
      });
      return send(res, result.answer);
    }
    if (path === '/login') {
      const entry: SessionEntry = { handle: randomBytes(16).toString('base64url'), user: 'alice', binding: null };
      sessions.set(entry.handle, entry);
      const [name, value] = await dbsc.registration(entry.handle);
      res.setHeader(name, value);
      note(req, path, { outcome: 'signed-in', status: 200 });
      return html(res, 200, 'Signed in.', [`${SESSION_COOKIE}=${entry.handle}; Path=/; Secure; HttpOnly; SameSite=Lax`]);
    }
    if (path === '/rotate') {
      const session = sessionOf(req);
      const entry = session === null ? undefined : sessions.get(session.handle);
      if (entry === undefined) return html(res, 401, 'Not signed in.');
      // A new handle, the same binding; the bound cookie follows the new handle.
      sessions.delete(entry.handle);
      entry.handle = randomBytes(16).toString('base64url');
      sessions.set(entry.handle, entry);
      const cookies = [`${SESSION_COOKIE}=${entry.handle}; Path=/; Secure; HttpOnly; SameSite=Lax`];
      if (entry.binding !== null) cookies.push(dbsc.boundCookie(entry.binding)[1]);
      note(req, path, { outcome: 'rotated', status: 200 });
      return html(res, 200, 'Rotated.', cookies);
    }
    if (path === '/logout') {
      const session = sessionOf(req);
      if (session !== null) sessions.delete(session.handle);
      note(req, path, { outcome: 'signed-out', status: 200 });
      return html(res, 200, 'Signed out.', [`${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`, dbsc.clearBoundCookie()[1]]);
    }
    if (path === '/me') {
      const session = sessionOf(req);
      let outcome = session === null ? 'unauthenticated' : 'authenticated';
      let reason: string | undefined;
      if (session !== null && session.binding !== null) {
        const check = dbsc.checkBoundCookie(req.headers.cookie, session.binding);
        if (!check.ok) {
          outcome = 'unauthenticated';
          reason = check.reason;
        }
      }
      const status = outcome === 'authenticated' ? 200 : 401;
      note(req, path, { outcome, reason, status });
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ outcome, reason: reason ?? null, bound: session?.binding != null }));
      return;
    }
    html(res, path === '/' ? 200 : 404, 'latchkey DBSC');
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const server: Server = o.tls === undefined ? createHttpServer(listener) : createHttpsServer({ key: o.tls.key, cert: o.tls.cert }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  origin = o.tls === undefined ? `http://127.0.0.1:${port}` : `https://localhost:${port}`;
  return {
    origin,
    dbsc,
    log,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
