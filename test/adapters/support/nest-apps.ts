/**
 * The session application of apps.ts and the token application of
 * token-apps.ts as Nest applications, on Nest's Express and Fastify
 * platforms, each on a real listening server. Nest's decorators are called
 * as functions here (`Reflect.decorate`, as TypeScript's legacy decorators
 * compile to), so that the test suite needs no `experimentalDecorators`;
 * the README's Nest snippet and examples/nest use the decorator syntax.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { All, Controller, Get, HttpCode, Module, NotFoundException, Post, Req, Res, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { HttpSessionsOptions } from '../../../src/http/http-sessions.js';
import type { RequestSession } from '../../../src/http/request-session.js';
import type { TokenTransport } from '../../../src/http/tokens.js';
import type { AccessTokenClaims } from '../../../src/tokens/access.js';
import type { Tokens } from '../../../src/tokens/tokens.js';
import * as nest from '../../../src/adapters/nest/index.js';
import { app, split, type Running } from './apps.js';

export type NestPlatform = 'nest-express' | 'nest-fastify';

/** What a route writes on the response through both platforms' common members (passthrough: Nest sends the body). */
interface Passthrough {
  header(name: string, value: string): unknown;
}

/** Applies method decorators and, in order, one parameter decorator per parameter, as TypeScript emits them. */
export function route(cls: { prototype: object }, method: string, decorators: MethodDecorator[], params: ParameterDecorator[] = []): void {
  const proto = cls.prototype;
  const onParams = params.map((p, i): MethodDecorator => (target, key) => p(target, key, i));
  Reflect.decorate([...decorators, ...onParams], proto, method, Object.getOwnPropertyDescriptor(proto, method));
}

export async function serve(platform: NestPlatform, root: object, prepare: (nestApp: INestApplication) => void = () => {}): Promise<Running> {
  const httpAdapter = platform === 'nest-fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const nestApp = await NestFactory.create(root as never, httpAdapter, { logger: false, abortOnError: false });
  prepare(nestApp);
  try {
    await nestApp.listen(0, '127.0.0.1');
  } catch (err) {
    await nestApp.close();
    throw err;
  }
  const server = nestApp.getHttpServer() as Server;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await nestApp.close();
    },
  };
}

/** Starts the session application of apps.ts as a Nest application with `LatchkeyModule`. */
export async function startNest(platform: NestPlatform, options: HttpSessionsOptions): Promise<Running> {
  class SessionRoutes {
    async handle(session: RequestSession, req: { url: string }, res: Passthrough): Promise<unknown> {
      const { path, query } = split(req.url);
      const r = await app(session, path, query);
      if (r.status === 404) throw new NotFoundException(r.body);
      for (const [name, value] of Object.entries(r.headers ?? {})) res.header(name, value);
      // Returned to Nest, which sends it (Express's res.json, Fastify's reply.send): the commit holds that answer.
      return r.body;
    }
  }
  Reflect.decorate([Controller()], SessionRoutes);
  // Every path: path-to-regexp's wildcard on Express, find-my-way's on Fastify.
  route(SessionRoutes, 'handle', [All(platform === 'nest-fastify' ? '*' : '{*path}'), HttpCode(200)], [nest.Session(), Req(), Res({ passthrough: true })]);
  class AppModule {}
  Reflect.decorate([Module({ imports: [nest.LatchkeyModule.forRoot(options)], controllers: [SessionRoutes] })], AppModule);
  return serve(platform, AppModule);
}

const user = (url: string): string => new URL(url, 'http://x').searchParams.get('user') ?? 'alice';

/** Starts the token application of token-apps.ts as a Nest application (no session module: the exception filter only). */
export async function startNestTokens(platform: NestPlatform, transport: TokenTransport, tokens: Tokens, logoutPath: string): Promise<Running> {
  const refresh = nest.tokenRefresh(transport);
  const logout = nest.tokenLogout(transport);
  class TokenRoutes {
    claims(token: AccessTokenClaims): unknown {
      return { claims: token };
    }
    async login(req: { url: string }, res: object): Promise<void> {
      nest.sendTokens(res, transport, await tokens.issue({ userId: user(req.url) }));
    }
    dpopLogin(req: { url: string }, res: object): Promise<void> {
      return nest.issueTokens(req, res, transport, { userId: user(req.url) });
    }
    refresh(req: object, res: object): Promise<void> {
      return refresh(req, res);
    }
    logout(req: object, res: object): Promise<void> {
      return logout(req, res);
    }
  }
  // One handler per route: a method takes one path and verb.
  for (const [name, verb, path, guard] of [
    ['getMe', Get, 'api/me', nest.tokenGuard(transport)],
    ['postMe', Post, 'api/me', nest.tokenGuard(transport)],
    ['live', Get, 'api/live', nest.tokenGuard(transport, { checkSession: true })],
    ['admin', Get, 'api/admin', nest.tokenGuard(transport, { scope: 'admin' })],
  ] as const) {
    // A function of its own: Nest keeps a route's path and verb on the handler function.
    const handler = function (this: TokenRoutes, token: AccessTokenClaims): unknown {
      return this.claims(token);
    };
    Object.defineProperty(TokenRoutes.prototype, name, { value: handler, writable: true, configurable: true });
    route(TokenRoutes, name, [verb(path), HttpCode(200), UseGuards(guard)], [nest.Token()]);
  }
  route(TokenRoutes, 'login', [Post('auth/login')], [Req(), Res()]);
  route(TokenRoutes, 'dpopLogin', [Post('auth/dpop-login')], [Req(), Res()]);
  route(TokenRoutes, 'refresh', [Post('auth/refresh')], [Req(), Res()]);
  route(TokenRoutes, 'logout', [Post(logoutPath)], [Req(), Res()]);
  Reflect.decorate([Controller()], TokenRoutes);
  class AppModule {}
  Reflect.decorate([Module({ controllers: [TokenRoutes] })], AppModule);
  return serve(platform, AppModule, (nestApp) => nestApp.useGlobalFilters(new nest.LatchkeyExceptionFilter()));
}
