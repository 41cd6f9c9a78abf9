/**
 * The demo's single-page section, at `/demo/app`: a page running
 * `latchkey/browser` in token mode with the bearer carrier, on a token
 * family engine of its own over the service's store (short deadlines, so
 * that the expiry warning shows after a minute), under the demo users.
 *
 * Routes: `GET /demo/app` (the page), `GET /demo/app/app.js` (its script),
 * `GET /demo/app/lib/browser/index.js` and the files it imports (the built
 * `latchkey/browser`, same origin, `./browser-modules.ts`),
 * `POST /demo/app/auth/login` (JSON `{ user, password }`), `POST
 * /demo/app/auth/refresh`, `POST /demo/app/auth/logout`, `POST
 * /demo/app/auth/logout-everywhere` and `GET /demo/app/api/me` (guarded).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendTokens, tokenGuard, tokenLogout, tokenRefresh } from '../../adapters/fastify.js';
import type { Duration } from '../../core/duration.js';
import { durationOption } from '../../core/duration.js';
import { clientIpResolver } from '../../http/client.js';
import { createTokenTransport } from '../../http/tokens.js';
import { createTokens } from '../../tokens/tokens.js';
import { browserModules } from '../browser-modules.js';
import { SERVICE_KINDS, type ServiceContext } from '../context.js';
import { htmlHeaders } from '../html.js';
import { loginThrottle } from '../login-throttle.js';
import { SPA_SCRIPT, spaPage } from './spa-page.js';
import { DEMO_USERS } from './views.js';

/** The demo app's deadlines; short by default so that the warning shows while one looks. */
export interface DemoAppOptions {
  /** @default '2m' */
  idleTimeout?: Duration;
  /** @default '15m' */
  absoluteTimeout?: Duration;
  /** @default '1m' */
  accessTtl?: Duration;
  /** How long before the earlier deadline the page warns. @default '1m' */
  warnBefore?: Duration;
}


/**
 * Registers the single-page section under `/demo/app`.
 *
 * @param passwordMatches the demo's password check (constant time).
 * @throws {ConfigError} for a deadline that is not a duration.
 * @example
 * ```ts
 * await registerDemoApp(app, ctx, passwordMatches, { idleTimeout: '2m' });
 * ```
 */
export async function registerDemoApp(
  app: FastifyInstance,
  ctx: ServiceContext,
  passwordMatches: (password: string | undefined) => boolean,
  options: DemoAppOptions = {},
): Promise<void> {
  const warnBefore = durationOption('demo app warnBefore', options.warnBefore ?? '1m');
  const idleMs = durationOption('demo app idleTimeout', options.idleTimeout ?? '2m', { min: 1000 });
  const sessions = ctx.engine({
    idleTimeout: idleMs,
    absoluteTimeout: options.absoluteTimeout ?? '15m',
    maxSessionsPerUser: { limit: 10 },
    // A kind of its own: no other engine of the service honours these families, and none of its calls by user reach them unasked.
    kind: SERVICE_KINDS.demoApp,
  });
  const tokens = createTokens({
    sessions,
    keys: ctx.keys,
    issuer: ctx.config.issuer,
    // An audience of its own: no API of the service's users accepts a demo token.
    audience: 'latchkey-demo-app',
    // Per process: demo sign-ins do not outlive a restart's races, and the service's own secret stays with /v1.
    refreshSecret: randomBytes(32),
    accessTtl: options.accessTtl ?? '1m',
    onError: (err) => ctx.log.error({ err: { message: (err as Error)?.message } }, 'demo app background error'),
  });
  const transport = createTokenTransport({ tokens, trustProxy: ctx.config.trustProxy, onError: (err) => ctx.log.error({ err: { message: (err as Error)?.message } }, 'demo app error') });
  const resolveIp = clientIpResolver({ trustProxy: ctx.config.trustProxy });
  const throttle = loginThrottle({ limit: 20, windowMs: 60_000, store: ctx.store, name: 'demo-app-sign-in', onError: (err) => ctx.log.warn({ err: { message: (err as Error)?.message } }, 'sign-in brake: store channel error') });
  app.addHook('onClose', () => throttle.close());
  const guard = tokenGuard(transport);
  // Read once, at the first request for one of them.
  let modules: ReturnType<typeof browserModules> | null = null;

  await app.register(
    async (scope: FastifyInstance) => {
      scope.get('/', async (_request, reply) => reply.headers(htmlHeaders(undefined, { modules: true })).send(spaPage({ warnBefore }, idleMs)));
      scope.get('/app.js', async (_request, reply) => script(reply, SPA_SCRIPT));
      scope.get<{ Params: { '*': string } }>('/lib/*', async (request, reply) => {
        // Only the files of the built module (npm run build makes them): nothing else of dist/.
        const text = (await (modules ??= browserModules()))?.get(request.params['*']);
        return text === undefined ? reply.code(404).send() : script(reply, text);
      });

      scope.post('/auth/login', async (request, reply) => {
        const ip = resolveIp(request.socket.remoteAddress, { header: (n: string) => headerOf(request, n) }) ?? 'unknown';
        const wait = throttle.retryAfter(ip, Date.now());
        if (wait > 0) return reply.code(429).header('retry-after', String(wait)).header('cache-control', 'no-store').send({ error: 'throttled' });
        const body = (request.body ?? {}) as Record<string, unknown>;
        const user = typeof body.user === 'string' ? body.user : undefined;
        const password = typeof body.password === 'string' && body.password.length <= 1024 ? body.password : undefined;
        if (user === undefined || !DEMO_USERS.includes(user) || !passwordMatches(password)) {
          await throttle.failed(ip, Date.now());
          return reply.code(401).header('cache-control', 'no-store').send({ error: 'invalid_credentials' });
        }
        await throttle.succeeded(ip);
        const client = { ip, userAgent: headerOf(request, 'user-agent') };
        return sendTokens(reply, transport, await tokens.issue({ userId: user, client }));
      });
      scope.post('/auth/refresh', tokenRefresh(transport));
      scope.post('/auth/logout', tokenLogout(transport));
      scope.post('/auth/logout-everywhere', { preHandler: guard }, async (request, reply) => {
        // Every session of the demo user: this app's families and the demo's cookie sessions alike.
        // Never the service's own sessions of a user who happens to have the same name.
        const ended = await sessions.revokeUser(request.token.sub, { kinds: [SERVICE_KINDS.demo, SERVICE_KINDS.demoApp] });
        return reply.header('cache-control', 'no-store').send({ ended: ended.length });
      });
      scope.get('/api/me', { preHandler: guard }, async (request, reply) => {
        const user = request.token.sub;
        return reply.header('cache-control', 'no-store').send({ user, session: request.token.sid, expires: request.token.exp });
      });
    },
    { prefix: '/demo/app' },
  );
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function script(reply: FastifyReply, text: string): FastifyReply {
  return reply
    .header('content-type', 'text/javascript; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(text);
}
