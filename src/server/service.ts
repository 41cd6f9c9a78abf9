/**
 * `latchkey serve`: one Fastify server with the `/v1` JSON API, the JWKS,
 * OpenAPI, health, readiness and metrics, the admin dashboard and the demo
 * site, over one store.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Duration } from '../core/duration.js';
import { parseDuration } from '../core/duration.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { createSessions, type Sessions, type SessionsOptions } from '../core/sessions.js';
import { guardedStore, storeTimeoutMs } from '../core/store-call.js';
import { createKeySet } from '../tokens/keys.js';
import { fileKeyStorage } from '../tokens/file-key-storage.js';
import { createTokens } from '../tokens/tokens.js';
import { registerAdmin } from './admin.js';
import { registerApi } from './api.js';
import { apiKeys } from '../core/api-keys.js';
import type { ServiceConfig } from './config.js';
import type { AdminCredential, ServiceContext } from './context.js';
import { SERVICE_KINDS } from './context.js';
import { ConfigError } from '../core/errors.js';
import { registerDemo } from './demo.js';
import type { DemoAppOptions } from './demo/spa.js';
import { apiError, errorBody, installErrorHandlers } from './errors.js';
import { securityFeed } from './feed.js';
import { html, htmlHeaders, page } from './html.js';
import { createMetrics } from './metrics.js';
import { createHistory } from './history.js';
import { openApiDocument } from './openapi.js';
import { makeStateFolder, makeStoreFolder } from './state-folder.js';
import { openStore } from '../stores/open.js';
import { storeReady } from './readiness.js';

/** Programmatic options of {@link createService}, beyond the configuration. */
export interface ServiceOptions {
  /** Where the JSON log lines go (a pino destination). @default standard output */
  logStream?: { write(line: string): void };
  /** How recent a demo sign-in must be for its sensitive action. @default '5m' */
  demoFreshFor?: Duration;
  /** The deadlines of the demo's single-page section (`/demo/app`). @default { idleTimeout: '2m', absoluteTimeout: '15m', accessTtl: '1m', warnBefore: '1m' } */
  demoApp?: DemoAppOptions;
  /** How long a verified API key is trusted without a store read, in ms. @default 5000 */
  apiKeyCacheMs?: number;
  /**
   * The window of every engine's invalid-token throttle and `invalid-token`
   * reports (the feed's `invalid-token` entries and
   * `latchkey_invalid_tokens_total` arrive once per client, carrier and
   * reason per window).
   * @default '1m'
   */
  guessingWindow?: Duration;
  /**
   * How often the signing keys are re-read from `<dataDir>/keys.json`, so that
   * a `latchkey keys rotate` (or another instance's rotation) reaches the
   * JWKS and the signing of this one, in ms.
   * @default 60000
   */
  /**
   * How often this instance writes the dashboard charts' totals to the store, in ms.
   * @default 10000
   */
  historyFlushMs?: number;
  keyReloadMs?: number;
  /**
   * The in-process cache of the `/v1/sessions` engine (`cache` of
   * `createSessions()`): validations served from memory, a revocation on
   * another instance heard over the store's channel (Redis pub/sub,
   * PostgreSQL LISTEN/NOTIFY) and bounded by `staleness` when the channel
   * is down.
   * @default none (every validation reads the store)
   */
  sessionCache?: SessionsOptions['cache'];
}

/** A running (or ready to listen) service. */
export interface Service {
  readonly app: FastifyInstance;
  readonly ctx: ServiceContext;
  /** Every route the server answers, as `METHOD url` (Fastify syntax). */
  readonly routes: ReadonlyArray<{ readonly method: string; readonly url: string }>;
  /** Starts listening on the configured host and port; resolves the base URL, e.g. `http://127.0.0.1:4000`. */
  listen(): Promise<string>;
  /**
   * Graceful shutdown: stops accepting connections, lets requests in flight
   * finish (up to `shutdownTimeout`, then cuts them), then closes the engines
   * and the store. Safe to call more than once.
   */
  close(): Promise<void>;
  /** Whether the admin password was generated into the data folder (then it is in `adminPasswordFile`). */
  readonly adminPasswordFile: string | null;
}

const VERSION = readVersion();

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The version of latchkey this service runs. */
export const SERVICE_VERSION = VERSION;

/**
 * Reads a secret kept in the data folder, or makes and keeps one (mode 0600).
 * @internal
 */
export function readOrCreateSecret(path: string, make: () => string): { value: string; created: boolean } {
  try {
    return { value: readFileSync(path, 'utf8').trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = make();
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { value: readFileSync(path, 'utf8').trim(), created: false };
    throw err;
  }
}

function adminCredential(password: string): AdminCredential {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const user = digest('admin');
  const pass = digest(password);
  return {
    username: 'admin',
    verify(username, presented) {
      if (typeof username !== 'string' || typeof presented !== 'string') return false;
      const a = timingSafeEqual(digest(username), user);
      const b = timingSafeEqual(digest(presented), pass);
      return a && b;
    },
  };
}

/**
 * Builds the service: opens the store, loads or makes the signing keys and
 * secrets in `config.dataDir`, and registers every route. Call `listen()`.
 *
 * @throws {ConfigError} for a store it cannot open, or the store's error.
 * @example
 * ```ts
 * import { createService, loadConfig } from 'latchkey/server';
 *
 * const service = await createService(loadConfig({ flags: { port: '4000' } }));
 * console.log(`listening on ${await service.listen()}`);
 * process.once('SIGTERM', () => service.close());
 * ```
 */
export async function createService(config: ServiceConfig, options: ServiceOptions = {}): Promise<Service> {
  checkOptionKeys(options, 'createService()', ['logStream', 'demoFreshFor', 'demoApp', 'apiKeyCacheMs', 'guessingWindow', 'keyReloadMs', 'historyFlushMs', 'sessionCache']);
  if (options.demoApp !== undefined) checkOptionKeys(options.demoApp, 'createService()', ['idleTimeout', 'absoluteTimeout', 'accessTtl', 'warnBefore'], { prefix: 'demoApp.' });
  makeStateFolder(config.dataDir);
  const refreshSecret = config.refreshSecret ?? readOrCreateSecret(join(config.dataDir, 'refresh-secret'), () => randomBytes(32).toString('base64url')).value;
  let adminPasswordFile: string | null = null;
  let adminPassword = config.adminPassword;
  if (adminPassword === null) {
    adminPasswordFile = join(config.dataDir, 'admin-password');
    adminPassword = readOrCreateSecret(adminPasswordFile, () => randomBytes(18).toString('base64url')).value;
  }

  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // One line per request would be most of the log (and of its cost); errors and warnings are kept.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // A user id may be 256 characters, up to 12 bytes each once percent-encoded.
    routerOptions: { maxParamLength: 3072 },
    // A malformed URL (bad percent-encoding) is answered in the API's error format, not Fastify's.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      void reply.code(400).header('cache-control', 'no-store').send(errorBody(apiError(400, 'bad-request', error.code === 'FST_ERR_BAD_URL' ? 'the URL is malformed' : error.message)));
    },
  });
  const log = app.log;

  // A store that is down reports every reconnection attempt: one warning per 10 s, with how many were folded in.
  let lastWarned = 0;
  let folded = 0;
  const onStoreError = (err: unknown): void => {
    const now = Date.now();
    if (now - lastWarned < 10_000) {
      folded++;
      return;
    }
    lastWarned = now;
    const e = err as { name?: unknown; message?: unknown; code?: unknown } | null;
    log.warn({ err: { type: typeof e?.name === 'string' ? e.name : 'Error', code: e?.code, message: String(e?.message ?? err) }, repeated: folded }, 'store connection error');
    folded = 0;
  };
  makeStoreFolder(config.store);
  // The service opened the store, so the service closes it (engines never close a store they are handed).
  const store = await openStore(config.store, { onError: onStoreError });
  // What the service reads and writes itself (API keys, route checks) goes through the same mapping and bound as the engines.
  const guarded = guardedStore(store, storeTimeoutMs(store, undefined));
  // On a shared store the feed is the store's log: every instance (and the CLI) writes and reads it.
  const feed = securityFeed({ ...(guarded.events !== undefined ? { log: guarded.events } : {}), onError: onStoreError });
  const keysOfApi = apiKeys(guarded, { ...(options.apiKeyCacheMs !== undefined ? { cacheMs: options.apiKeyCacheMs } : {}), onError: onStoreError });
  const metrics = createMetrics();
  const engines: Sessions[] = [];
  const onError = (err: unknown) => log.error({ err: { message: (err as Error)?.message, type: (err as Error)?.name } }, 'background error');
  const engine = (o: Omit<SessionsOptions, 'store'> & { kind: string }): Sessions => {
    const e = createSessions({ onError, ...(options.guessingWindow !== undefined ? { guessing: { window: options.guessingWindow } } : {}), ...o, store });
    engines.push(e);
    feed.watch(e, o.kind);
    metrics.watch(e, o.kind);
    return e;
  };

  // Engines share the store; each is of its own kind and honours only tokens of that kind (see
  // SessionsOptions.kind), so that no token of one (a refresh token, a demo or admin cookie) is valid at
  // another or touched by it.
  const limit = config.maxSessionsPerUser > 0 ? { maxSessionsPerUser: { limit: config.maxSessionsPerUser } } : {};
  const sessions = engine({
    kind: SERVICE_KINDS.sessions,
    idleTimeout: config.idleTimeout,
    absoluteTimeout: config.absoluteTimeout,
    ...limit,
    ...(options.sessionCache !== undefined ? { cache: options.sessionCache } : {}),
  });
  const tokenEngine = engine({
    kind: SERVICE_KINDS.tokens,
    idleTimeout: config.refreshIdleTimeout,
    absoluteTimeout: config.refreshAbsoluteTimeout,
    ...limit,
  });
  const keys = await createKeySet({ storage: fileKeyStorage(join(config.dataDir, 'keys.json')) });
  const tokens = createTokens({
    sessions: tokenEngine,
    keys,
    issuer: config.issuer,
    audience: config.audience,
    refreshSecret,
    accessTtl: config.accessTtl,
    claims: (s) => (typeof s.data.scope === 'string' ? { scope: s.data.scope } : {}),
    // Clients that forward a DPoP proof get tokens bound to its key; the jti replay cache is the shared store.
    // With a nonce key, proofs carry a nonce of the service (RFC 9449 section 8), the same on every instance.
    dpop: { algorithms: ['ES256', 'ES384', 'EdDSA', 'PS256', 'RS256'], ...(config.dpopNonceSecret === null ? {} : { nonce: { secret: config.dpopNonceSecret } }) },
    ...(options.guessingWindow !== undefined ? { guessing: { window: options.guessingWindow } } : {}),
    onError,
  });
  feed.watchTokens(tokens);
  const history = createHistory({ store: guarded, metrics, onError, ...(options.historyFlushMs !== undefined ? { flushMs: options.historyFlushMs } : {}) });
  const keyReload = setInterval(() => void keys.reload().catch(onError), options.keyReloadMs ?? 60_000);
  keyReload.unref();

  const ctx: ServiceContext = {
    config,
    store: guarded,
    sessions,
    tokens,
    keys,
    apiKeys: keysOfApi,
    feed,
    metrics,
    history,
    admin: adminCredential(adminPassword),
    log,
    engine(o) {
      if ((SERVICE_KINDS.api as readonly string[]).includes(o.kind)) {
        throw new ConfigError(`a further engine of the service needs a kind of its own, not ${JSON.stringify(o.kind)}: that is /v1's`);
      }
      return engine(o);
    },
    startedAt: Date.now(),
  };

  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  installErrorHandlers(app, metrics);
  // JSON only: a text/plain body is answered 415, not parsed as a string.
  app.removeContentTypeParser('text/plain');

  const openapi = JSON.stringify(openApiDocument({ version: VERSION }));
  app.get('/openapi.json', async (_request, reply) => reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8').send(openapi));
  app.get('/.well-known/jwks.json', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(tokens.jwks()));
  app.get('/v1', async (_request, reply) =>
    reply.header('cache-control', 'no-cache').send({ service: 'latchkey', version: VERSION, openapi: '/openapi.json', auth: 'Authorization: Bearer <API key> (latchkey apikeys create)' }),
  );
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await storeReady(store);
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'unavailable' });
  });
  app.get('/metrics', async (_request, reply) => reply.header('cache-control', 'no-store').type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()));
  app.get('/', async (_request, reply) => {
    const links = [
      config.demo ? html`<li><a href="/demo">Demo site</a>: sign in as a demo user, see your devices, sign out everywhere; and a <a href="/demo/app">single-page app</a> on <code>latchkey/browser</code>.</li>` : '',
      config.dashboard ? html`<li><a href="/admin">Admin dashboard</a>: live counts, sessions by user, revocation, security events.</li>` : '',
      html`<li><a href="/openapi.json">OpenAPI document</a> of the <code>/v1</code> API (API keys: <code>latchkey apikeys create</code>).</li>`,
      html`<li><a href="/.well-known/jwks.json">JWKS</a> · <a href="/healthz">healthz</a> · <a href="/readyz">readyz</a> · <a href="/metrics">metrics</a></li>`,
    ];
    // Public page: nothing about the deployment (the store is on the signed-in dashboard).
    const body = html`<h1>latchkey ${VERSION}</h1><div class="card"><p class="muted">Session service.</p><ul>${links}</ul></div>`;
    return reply.headers(htmlHeaders()).send(page({ title: 'latchkey', brand: 'latchkey', body }));
  });

  await registerApi(app, ctx);
  if (config.dashboard) await registerAdmin(app, ctx);
  if (config.demo) {
    await registerDemo(app, ctx, {
      // Derived from the refresh secret, which every instance of a fleet shares: the demo's DBSC is on.
      dbscSecret: createHmac('sha256', refreshSecret).update('latchkey demo dbsc v1').digest(),
      ...(options.demoFreshFor !== undefined ? { freshFor: options.demoFreshFor } : {}),
      ...(options.demoApp !== undefined ? { app: options.demoApp } : {}),
    });
  }

  const shutdownMs = parseDuration(config.shutdownTimeout) ?? 10_000;
  let closing: Promise<void> | null = null;
  return {
    app,
    ctx,
    routes,
    adminPasswordFile,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      const url = new URL(address);
      if (url.hostname === '[::1]' || url.hostname === '::1') url.hostname = '[::1]';
      return url.origin;
    },
    close() {
      closing ??= (async () => {
        clearInterval(keyReload);
        const cut = setTimeout(() => app.server.closeAllConnections(), shutdownMs);
        cut.unref();
        // A keep-alive connection whose last request finishes during shutdown turns idle: close it then.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        sweep.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(cut);
          clearInterval(sweep);
          // The charts' last totals, while the store is still open.
          await history.close();
          for (const e of engines) await e.close().catch(onError);
          await keysOfApi.close().catch(onError);
          await store.close().catch(onError);
        }
      })();
      return closing;
    },
  };
}
