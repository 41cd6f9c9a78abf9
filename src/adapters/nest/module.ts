/**
 * `LatchkeyModule`: puts the request-scoped session on every request of a
 * Nest application, through the Express middleware of `latchkey/express`
 * on `@nestjs/platform-express` and the plugin of `latchkey/fastify` on
 * `@nestjs/platform-fastify`, and answers latchkey's errors with
 * {@link LatchkeyExceptionFilter}.
 *
 * Written with Nest's decorators called as functions (`Module({})(cls)`),
 * not with decorator syntax: latchkey compiles under the project's one
 * strict setting, without `experimentalDecorators`, and needs no
 * `emitDecoratorMetadata` (its injections are declared with `Inject`).
 *
 * @module
 * @internal
 */
import { Inject, Module, type DynamicModule, type InjectionToken, type ModuleMetadata, type NestModule, type OptionalFactoryDependency } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { ConfigError } from '../../core/errors.js';
import type { HttpSessionsOptions } from '../../http/http-sessions.js';
import { latchkey as expressSessions } from '../express.js';
import { latchkey as fastifySessions } from '../fastify.js';
import { LatchkeyExceptionFilter } from './filter.js';

/** Options of {@link LatchkeyModule.forRoot}: the shared HTTP options (`sessions` or `sealed`, cookie, CSRF, carriers, trustProxy...). */
export type NestSessionsOptions = HttpSessionsOptions;

/** Options of {@link LatchkeyModule.forRootAsync}: the options made by a factory, with Nest's injection. */
export interface NestSessionsAsyncOptions {
  /** Modules whose providers the factory needs (a `ConfigModule`...). */
  imports?: ModuleMetadata['imports'];
  /** What the factory receives, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  /** Makes the options once, at startup. */
  useFactory: (...args: never[]) => NestSessionsOptions | Promise<NestSessionsOptions>;
}

/** Where the module finds its options in Nest's container. */
const OPTIONS = Symbol('latchkey.nest.options');

const FILTER = { provide: APP_FILTER, useClass: LatchkeyExceptionFilter };

/**
 * The module. Import it once, in the application's root module, with
 * `forRoot()` (or `forRootAsync()`); it is global. At startup it registers
 * the session middleware (Express) or plugin (Fastify) before every route,
 * validating the options then (a `ConfigError` rejects `app.init()` /
 * `app.listen()`), and a global exception filter for latchkey's errors (a
 * guard's 401, 403 `csrf-*`, 429, 409 `session-limit`, 503
 * `store-unavailable`), answered as JSON `{ error, message }` exactly as
 * the Express and Fastify adapters answer them. The session is committed
 * before the response is written; a failed save replaces the handler's
 * answer (503 `store-unavailable`, 500 `session-not-saved`), and a change
 * after the response started throws a `HeadersSentError`.
 *
 * The session reaches routes, guards and interceptors, not Nest middleware
 * on the Fastify platform (which runs on the raw request, before the plugin).
 *
 * @example
 * ```ts
 * import { Module } from '@nestjs/common';
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 * import { LatchkeyModule } from 'latchkey/nest';
 *
 * @Module({
 *   imports: [LatchkeyModule.forRoot({ sessions: createSessions({ store: memoryStore() }), trustProxy: ['10.0.0.0/8'] })],
 *   controllers: [AccountController],
 * })
 * export class AppModule {}
 * ```
 */
export class LatchkeyModule implements NestModule {
  readonly #options: NestSessionsOptions;
  readonly #host: HttpAdapterHost;

  /** @internal made by Nest's container */
  constructor(options: NestSessionsOptions, host: HttpAdapterHost) {
    this.#options = options;
    this.#host = host;
  }

  /**
   * The module with its options.
   *
   * @example
   * ```ts
   * imports: [LatchkeyModule.forRoot({ sessions })]
   * ```
   */
  static forRoot(options: NestSessionsOptions): DynamicModule {
    if (options === null || typeof options !== 'object') throw new ConfigError('LatchkeyModule.forRoot() needs the options object: { sessions } or { sealed }');
    return { module: LatchkeyModule, global: true, providers: [{ provide: OPTIONS, useValue: options }, FILTER] };
  }

  /**
   * The module with options made at startup by a factory, with Nest's
   * injection (a configuration service, a store opened asynchronously).
   *
   * @example
   * ```ts
   * imports: [
   *   LatchkeyModule.forRootAsync({
   *     imports: [ConfigModule],
   *     inject: [ConfigService],
   *     useFactory: (config: ConfigService) => ({ sessions: createSessions({ store: redisStore({ url: config.get('REDIS_URL') }) }) }),
   *   }),
   * ]
   * ```
   */
  static forRootAsync(options: NestSessionsAsyncOptions): DynamicModule {
    if (options === null || typeof options !== 'object' || typeof options.useFactory !== 'function') {
      throw new ConfigError('LatchkeyModule.forRootAsync() needs { useFactory }, a function that returns the options ({ sessions } or { sealed })');
    }
    const factory = { provide: OPTIONS, useFactory: options.useFactory as (...args: unknown[]) => unknown, inject: options.inject ?? [] };
    return { module: LatchkeyModule, global: true, imports: options.imports ?? [], providers: [factory, FILTER] };
  }

  /** @internal Nest calls it at startup, before it mounts any route. */
  async configure(): Promise<void> {
    const adapter = this.#host.httpAdapter as { getType(): string; use(handler: unknown): unknown; getInstance<T>(): T } | undefined;
    const platform = adapter?.getType();
    if (platform === 'express') {
      adapter!.use(expressSessions(this.#options));
    } else if (platform === 'fastify') {
      // Awaited: the plugin's hooks must be in place before Nest adds its routes.
      await adapter!.getInstance<{ register(plugin: unknown, options: unknown): PromiseLike<unknown> }>().register(fastifySessions, this.#options);
    } else {
      throw new ConfigError(
        `latchkey/nest runs on @nestjs/platform-express or @nestjs/platform-fastify (this application's HTTP adapter is ${platform === undefined ? 'missing' : JSON.stringify(platform)})`,
      );
    }
  }
}

Module({})(LatchkeyModule);
Inject(OPTIONS)(LatchkeyModule, undefined, 0);
Inject(HttpAdapterHost)(LatchkeyModule, undefined, 1);
