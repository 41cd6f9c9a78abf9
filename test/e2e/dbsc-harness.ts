/**
 * A real-browser DBSC harness: a throwaway certificate that headless
 * Chromium trusts (by its SPKI hash), a small HTTPS server on 127.0.0.1
 * that signs users in and runs latchkey's DBSC protocol core over an
 * in-memory session map, and Chromium launched with DBSC and software keys
 * on, whose DevTools events are recorded.
 *
 * Chromium acts on DBSC only over HTTPS whose certificate verifies without
 * error (not over http://localhost, not with the error merely bypassed), so
 * the certificate is made trusted with --ignore-certificate-errors-spki-list.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { readCookie } from '../../src/http/cookies.js';
import { createDbsc, memoryChallengeStore, type Dbsc, type DbscAnswer, type DbscBinding, type DbscOptions, type DbscSession } from '../../src/http/dbsc/index.js';
import { CHROMIUM_ARGS } from './chromium.js';

/** A certificate for `localhost` and 127.0.0.1, and the base64 SHA-256 of its SubjectPublicKeyInfo. */
export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly spki: string;
}

/** Makes a one-day P-256 certificate with openssl, in `dir`. */
export function makeCertificate(dir: string): TestCertificate {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    '/usr/bin/openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: 'pipe' },
  );
  const cert = readFileSync(certPath);
  const der = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return { key: readFileSync(keyPath), cert, spki: createHash('sha256').update(der).digest('base64') };
}

/** One line of the server's log: what came in, what the protocol core decided. */
export interface LogEntry {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** `registered`, `refreshed`, `challenged`, `terminated`, `refused`, `authenticated`, `unauthenticated`… */
  readonly outcome: string;
  readonly reason?: string;
  readonly status: number;
  /** The decoded proof (header and payload), when the request carried one. */
  readonly proof?: { readonly header: Record<string, unknown>; readonly payload: Record<string, unknown> };
  readonly sessionId?: string;
  /** The bound cookie value the request carried, if any. */
  readonly boundCookie?: string | null;
}

interface SessionEntry {
  handle: string;
  user: string;
  binding: DbscBinding | null;
}

/** The HTTPS test site. */
export interface DbscSite {
  readonly origin: string;
  readonly dbsc: Dbsc;
  readonly log: LogEntry[];
  readonly sessions: Map<string, SessionEntry>;
  close(): Promise<void>;
}

const SESSION_COOKIE = '__Host-session';

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
 * Starts the site on 127.0.0.1 (browsed as https://localhost:port):
 * `GET /login` signs in and asks for registration, `GET /me` needs a valid
 * bound cookie once the session is bound, `GET /logout` ends the session.
 */
export async function startDbscSite(certificate: TestCertificate, options: Partial<DbscOptions> = {}): Promise<DbscSite> {
  const sessions = new Map<string, SessionEntry>();
  const log: LogEntry[] = [];
  const dbsc = createDbsc({ secret: randomBytes(32), challenges: memoryChallengeStore(), scope: { exclude: ['/favicon.ico'] }, ...options });
  let origin = '';

  const sessionOf = (req: IncomingMessage): DbscSession | null => {
    const handle = readCookie(req.headers.cookie, SESSION_COOKIE);
    const entry = handle === null ? undefined : sessions.get(handle);
    return entry === undefined ? null : { handle: entry.handle, binding: entry.binding };
  };
  const note = (req: IncomingMessage, path: string, entry: Omit<LogEntry, 'at' | 'method' | 'path' | 'proof' | 'sessionId' | 'boundCookie'>) => {
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    const request = { header: (name: string) => req.headers[name] as string | undefined };
    if (req.method === 'POST' && path === dbsc.registrationPath) {
      const session = sessionOf(req);
      const result = await dbsc.register(request, session, { origin });
      if (result.ok && session !== null) {
        const entry = sessions.get(session.handle);
        if (entry !== undefined && entry.binding === null) entry.binding = result.binding;
      }
      note(req, path, { outcome: result.ok ? 'registered' : 'refused', reason: result.ok ? undefined : result.reason, status: result.answer.status });
      return send(res, result.answer);
    }
    if (req.method === 'POST' && path === dbsc.refreshPath) {
      const result = await dbsc.refresh(request, sessionOf(req), { origin });
      note(req, path, { outcome: result.outcome, reason: result.outcome === 'refreshed' ? undefined : result.reason, status: result.answer.status });
      return send(res, result.answer);
    }
    if (path === '/login') {
      const entry: SessionEntry = { handle: randomBytes(16).toString('base64url'), user: 'alice', binding: null };
      sessions.set(entry.handle, entry);
      const [name, value] = await dbsc.registration(entry.handle);
      res.setHeader(name, value);
      res.setHeader('set-cookie', `${SESSION_COOKIE}=${entry.handle}; Path=/; Secure; HttpOnly; SameSite=Lax`);
      res.setHeader('cache-control', 'no-store');
      res.setHeader('content-type', 'text/html; charset=utf-8');
      note(req, path, { outcome: 'signed-in', status: 200 });
      res.end('<!doctype html><title>signed in</title><p>Signed in.</p>');
      return;
    }
    if (path === '/logout') {
      const session = sessionOf(req);
      if (session !== null) sessions.delete(session.handle);
      res.setHeader('set-cookie', [`${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`, dbsc.clearBoundCookie()[1]]);
      res.setHeader('cache-control', 'no-store');
      note(req, path, { outcome: 'signed-out', status: 200 });
      res.end('<!doctype html><title>signed out</title><p>Signed out.</p>');
      return;
    }
    if (path === '/me') {
      const session = sessionOf(req);
      let outcome = session === null ? 'unauthenticated' : 'authenticated';
      let reason: string | undefined;
      if (session !== null && session.binding !== null) {
        const check = dbsc.checkBoundCookie(req.headers.cookie, { handle: session.handle, binding: session.binding });
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
    res.writeHead(path === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>latchkey DBSC</title><p>Hello.</p>');
  };

  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  origin = `https://localhost:${port}`;
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

/** Flags that turn DBSC on with software keys, lift the signing quota, and trust the test certificate. */
export function dbscChromiumArgs(spki: string): string[] {
  return [
    ...CHROMIUM_ARGS,
    '--enable-features=DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting',
    `--ignore-certificate-errors-spki-list=${spki}`,
    '--host-resolver-rules=MAP localhost 127.0.0.1',
  ];
}

/** Launches Chromium with a persistent profile in `userDataDir` (DBSC sessions live in the profile). */
export async function launchDbscChromium(executablePath: string, userDataDir: string, spki: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: dbscChromiumArgs(spki),
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  return context;
}

/** DevTools' DBSC events of one page: sessions added and events (creation, refresh, challenge, termination). */
export interface DbscEvents {
  readonly added: Array<Record<string, unknown>>;
  readonly occurred: Array<Record<string, unknown>>;
  readonly cdp: CDPSession;
}

/** Starts recording DevTools' DBSC events for `page`. */
export async function watchDbsc(context: BrowserContext, page: Page): Promise<DbscEvents> {
  const cdp = await context.newCDPSession(page);
  const events: DbscEvents = { added: [], occurred: [], cdp };
  const on = cdp.on.bind(cdp) as (event: string, listener: (params: Record<string, unknown>) => void) => void;
  on('Network.deviceBoundSessionsAdded', (params) => events.added.push(params));
  on('Network.deviceBoundSessionEventOccurred', (params) => events.occurred.push(params));
  const sendCommand = cdp.send.bind(cdp) as (method: string, params?: Record<string, unknown>) => Promise<unknown>;
  await sendCommand('Network.enable');
  await sendCommand('Network.enableDeviceBoundSessions', { enable: true });
  return events;
}

/** Waits until `predicate` holds, polling; `false` when `timeoutMs` passed first. */
export async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return predicate();
}
