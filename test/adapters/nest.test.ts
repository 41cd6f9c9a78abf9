/**
 * What is particular to Nest, on both of its platforms: `SessionGuard` (any
 * signed-in user, or a fresh sign-in), `forRootAsync()` with Nest's
 * injection, `@Session()` without the module, and an exception filter that
 * leaves Nest's own exceptions alone. The scenario tables run the rest.
 */
import 'reflect-metadata';
import { Controller, Get, HttpCode, Injectable, Module, NotFoundException, Post, UseGuards, type Type } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import type { RequestSession } from '../../src/http/request-session.js';
import { memoryStore } from '../../src/stores/memory.js';
import * as nest from '../../src/adapters/nest/index.js';
import type { Running } from './support/apps.js';
import { call, cookieHeader, cookieValue } from './support/client.js';
import { route, serve, type NestPlatform } from './support/nest-apps.js';

const clock = manualClock();
const sessions = createSessions({ store: memoryStore({ clock }), clock, sweepInterval: false });
afterAll(() => sessions.close());

/** A controller with a sign-in, a route behind `SessionGuard`, one behind a fresh sign-in, and one throwing Nest's own 404. */
function accountController(): Type {
  class Account {
    async login(session: RequestSession): Promise<unknown> {
      await session.login('ann');
      return { ok: true };
    }
    show(session: RequestSession): unknown {
      return { user: session.userId };
    }
    sensitive(session: RequestSession): unknown {
      return { user: session.userId, fresh: true };
    }
    missing(): never {
      throw new NotFoundException('no such thing');
    }
  }
  route(Account, 'login', [Post('login'), HttpCode(200)], [nest.Session()]);
  route(Account, 'show', [Get('account'), UseGuards(nest.SessionGuard)], [nest.Session()]);
  route(Account, 'sensitive', [Get('sensitive'), UseGuards(new nest.SessionGuard({ fresh: '5m' }))], [nest.Session()]);
  route(Account, 'missing', [Get('missing')]);
  Reflect.decorate([Controller()], Account);
  return Account;
}

function appModule(imports: unknown[], controller: Type = accountController()): object {
  class AppModule {}
  Reflect.decorate([Module({ imports: imports as never[], controllers: [controller] })], AppModule);
  return AppModule;
}

let server: Running | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const options = { sessions, development: true, cookie: { name: 'sid', secure: false } } as const;

async function signIn(url: string): Promise<string> {
  const r = await call(url, '/login', { method: 'POST' });
  expect(r.status).toBe(200);
  return cookieHeader(cookieValue(r.setCookies, 'sid') as string, 'sid');
}

describe.each(['nest-express', 'nest-fastify'] as NestPlatform[])('latchkey/nest on %s', (platform) => {
  it('lets only signed-in users through SessionGuard, and only recent sign-ins through SessionGuard({ fresh })', async () => {
    server = await serve(platform, appModule([nest.LatchkeyModule.forRoot(options)]));
    const visitor = await call(server.url, '/account');
    expect(visitor.status).toBe(401);
    expect(visitor.body).toEqual({ error: 'unauthenticated', message: expect.any(String) });

    const cookie = await signIn(server.url);
    expect((await call(server.url, '/account', { cookie })).body).toEqual({ user: 'ann' });
    expect((await call(server.url, '/sensitive', { cookie })).body).toEqual({ user: 'ann', fresh: true });
    clock.advance('6m');
    const stale = await call(server.url, '/sensitive', { cookie });
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ error: 'reauth-required' });
    expect((await call(server.url, '/account', { cookie })).status).toBe(200);
  });

  it('takes its options from forRootAsync(), made by a factory with what Nest injects', async () => {
    class Config {
      readonly cookieName = 'sid';
    }
    Reflect.decorate([Injectable()], Config);
    class ConfigModule {}
    Reflect.decorate([Module({ providers: [Config], exports: [Config] })], ConfigModule);
    const latchkeyModule = nest.LatchkeyModule.forRootAsync({
      imports: [ConfigModule],
      inject: [Config],
      useFactory: async (config: Config) => ({ sessions, development: true, cookie: { name: config.cookieName, secure: false } }),
    });
    server = await serve(platform, appModule([latchkeyModule]));
    const cookie = await signIn(server.url);
    expect((await call(server.url, '/account', { cookie })).body).toEqual({ user: 'ann' });
  });

  it("rejects the application's start when the factory's options are wrong", async () => {
    const latchkeyModule = nest.LatchkeyModule.forRootAsync({ useFactory: () => ({ sessions, cookie: { name: 'sid' } }) });
    await expect(serve(platform, appModule([latchkeyModule]))).rejects.toThrow(ConfigError);
  });

  it("fails a route's @Session() loudly without LatchkeyModule, instead of handing it no session", async () => {
    class Probe {
      probe(session: unknown): unknown {
        return { session: typeof session };
      }
    }
    route(Probe, 'probe', [Get('probe')], [nest.Session()]);
    Reflect.decorate([Controller()], Probe);
    server = await serve(platform, appModule([], Probe));
    const r = await call(server.url, '/probe');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });

  it("leaves Nest's own exceptions to Nest", async () => {
    server = await serve(platform, appModule([nest.LatchkeyModule.forRoot(options)]));
    const r = await call(server.url, '/missing');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'no such thing' });
  });
});

describe('latchkey/nest at construction', () => {
  it('refuses an unknown SessionGuard option and a bad duration', () => {
    expect(() => new nest.SessionGuard({ fresh: '5m', fersh: '1m' } as never)).toThrow(ConfigError);
    expect(() => new nest.SessionGuard({ fresh: 'soon' as never })).toThrow(ConfigError);
  });

  it('refuses forRoot() without options and forRootAsync() without a factory', () => {
    expect(() => nest.LatchkeyModule.forRoot(undefined as never)).toThrow(ConfigError);
    expect(() => nest.LatchkeyModule.forRootAsync({} as never)).toThrow(ConfigError);
  });
});
