/**
 * DBSC (Device Bound Session Credentials) wired into cookie sessions: the
 * HTTP layer's `dbsc` option. Every adapter gets it through
 * `createHttpSessions()`:
 *
 * - a sign-in (`session.login()`) of a session that has no device key yet
 *   answers with `Secure-Session-Registration`;
 * - `POST registrationPath` and `POST refreshPath` are answered by the HTTP
 *   layer itself, before any route, for the session the session cookie
 *   names;
 * - the registered key is kept in the session record (the data key
 *   {@link DEVICE_BINDING_KEY}), written once by compare-and-set, so that
 *   a session never takes a second key, survives rotation and ends with
 *   the session;
 * - every request of a bound session needs the short-lived bound cookie,
 *   checked with one HMAC and no store read; without a valid one the
 *   session cookie signs no one in (and is left alone: the browser
 *   refreshes its bound cookie and comes back);
 * - events: `device-bound`, and `anomaly` of kind `bound-proof-failed`.
 *
 * @module
 * @internal
 */
import type { BoundProofFailure, DeviceBoundEvent } from '../core/bound-events.js';
import { engineInternals, type EngineInternals } from '../core/engine-internals.js';
import { ConfigError } from '../core/errors.js';
import type { SessionData } from '../core/model.js';
import { DEVICE_BINDING_KEY } from '../core/model.js';
import { refuseUnknownKeys } from '../core/option-keys.js';
import type { Sessions } from '../core/sessions.js';
import { guard } from './backend.js';
import { dbscFrom, storeChallengeStore, type Dbsc } from './dbsc/index.js';
import { dbscConfig } from './dbsc/options.js';
import type { DbscAnswer, DbscBinding, DbscOptions, DbscSession } from './dbsc/types.js';
import type { HttpRequest } from './request.js';
import type { HeaderLine, RequestSession, SessionDbsc } from './request-session.js';

/**
 * The HTTP layer's `dbsc` option: the protocol core's options, with the
 * challenges kept in the engine's store (its key-value facet, shared by
 * every instance) and the engine's clock.
 */
export type HttpDbscOptions = Omit<DbscOptions, 'challenges' | 'clock'>;

/** An answer the HTTP layer gives by itself (the DBSC endpoints): status, header lines, a body or none. */
export type HttpAnswer = DbscAnswer;

/** Which DBSC endpoint a request is for. */
export type DbscEndpoint = 'register' | 'refresh';

const OPTION_KEYS = ['secret', 'algorithms', 'registrationPath', 'refreshPath', 'cookie', 'scope', 'challengeTtl', 'authorization'];

/**
 * @internal DBSC as the HTTP layer runs it. `admits()` reads one property
 * for an unbound session and checks the bound cookie of a bound one (an
 * HMAC, once per cookie value); never a store read. `registration()` keeps
 * a one-time challenge in the store.
 */
export interface DeviceBinding extends SessionDbsc {
  readonly core: Dbsc;
  readonly registrationPath: string;
  readonly refreshPath: string;
  /** The DBSC endpoint `req` is for, or `null`. */
  endpoint(req: HttpRequest): DbscEndpoint | null;
  /** Answers a DBSC endpoint for the request's session (loaded here, without the bound-cookie check). */
  serve(endpoint: DbscEndpoint, req: HttpRequest, session: RequestSession): Promise<HttpAnswer>;
}

/** A stored binding, or `null` for anything that is not one (a damaged record: treated as bound, never admitted). */
function bindingIn(data: SessionData): DbscBinding | null {
  const b = data[DEVICE_BINDING_KEY] as Partial<DbscBinding> | null | undefined;
  if (b === null || typeof b !== 'object' || typeof b.id !== 'string' || typeof b.jkt !== 'string' || typeof b.alg !== 'string' || b.jwk === null || typeof b.jwk !== 'object') {
    return null;
  }
  return b as DbscBinding;
}

/** Whether `data` holds `binding` (the same key), or, for `null`, no binding at all. */
function sameBinding(data: SessionData, binding: DbscBinding | null): boolean {
  if (binding === null) return data[DEVICE_BINDING_KEY] === undefined;
  const now = bindingIn(data);
  return now !== null && now.jkt === binding.jkt && now.id === binding.id;
}

/** The path of a request target (`/a/b?c` → `/a/b`). */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

const NO_STORE: HeaderLine = ['cache-control', 'no-store'];

/**
 * @internal validates the `dbsc` option once, at construction; `null` when
 * it is off (absent or `false`).
 */
export function deviceBinding(options: HttpDbscOptions | false | undefined, engine: Sessions | null, sealedMode: boolean): DeviceBinding | null {
  if (options === undefined || options === false) return null;
  if (options === null || typeof options !== 'object') throw new ConfigError('dbsc must be an object { secret, ... } (or false)');
  refuseUnknownKeys(options, OPTION_KEYS, 'latchkey()', 'dbsc');
  if (sealedMode) {
    throw new ConfigError(
      'dbsc needs stateful sessions (sessions: createSessions({ store })): a sealed cookie is a snapshot, so the unbound cookie issued at sign-in would stay good until its deadline next to the bound one; remove dbsc or use stateful mode',
    );
  }
  const internals = engine === null ? undefined : engineInternals(engine);
  if (internals === undefined) throw new ConfigError('dbsc needs the engine from createSessions({ store }) as sessions');
  const clock = internals.clock;
  const core = dbscFrom(dbscConfig({ ...options, challenges: storeChallengeStore(internals.store, { clock }), clock }, 'dbsc.'));
  return wire(core, engine as Sessions, internals);
}

function wire(core: Dbsc, engine: Sessions, internals: EngineInternals): DeviceBinding {
  const { registrationPath, refreshPath } = core;

  function anomaly(session: RequestSession, reason: BoundProofFailure): void {
    const info = session.info;
    internals.emit('anomaly', {
      kind: 'bound-proof-failed',
      protocol: 'dbsc',
      handle: info?.handle ?? null,
      userId: info?.userId ?? null,
      reason,
      ip: session.client.ip ?? null,
      at: internals.clock.now(),
    });
  }

  /**
   * Keeps `binding` in the record, only if it has none: compare-and-set on
   * the version the request loaded, read again on a conflict (a data change
   * in between). `false` when the session has a key already, or is gone.
   */
  async function keep(handle: string, version: number, binding: DbscBinding): Promise<boolean> {
    let expect = version;
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await guard(engine.patch(handle, { set: { [DEVICE_BINDING_KEY]: binding } }, { expectVersion: expect }));
      if (r.ok) return true;
      if (r.reason !== 'conflict') return false;
      const now = await guard(engine.get(handle));
      if (now === null || Object.hasOwn(now.data, DEVICE_BINDING_KEY)) return false;
      expect = now.version;
    }
    return false;
  }

  return {
    core,
    registrationPath,
    refreshPath,

    endpoint(req) {
      if (req.method !== 'POST') return null;
      const path = pathOf(req.url);
      return path === registrationPath ? 'register' : path === refreshPath ? 'refresh' : null;
    },

    admits(req, data) {
      if (data[DEVICE_BINDING_KEY] === undefined) return true;
      const binding = bindingIn(data);
      return binding !== null && core.checkBoundCookie(req.header('cookie'), binding).ok;
    },

    isBound: (data) => data[DEVICE_BINDING_KEY] !== undefined,

    registration: (handle) => guard(core.registration(handle)),

    clearBoundCookie: () => core.clearBoundCookie(),

    async serve(endpoint, req, session) {
      session.exemptFromBoundCookie();
      await session.load();
      const info = session.info;
      const stored = info === null || info.data[DEVICE_BINDING_KEY] === undefined ? undefined : bindingIn(info.data);
      const context = { origin: req.header('origin') };
      let answer: HttpAnswer;
      // Whether the request may use its session: a due token is renewed only then (see renewIfDue()), and
      // the binding it proved that for (`null`: none, the session was not bound).
      let proved = false;
      let provedFor: DbscBinding | null = null;
      if (endpoint === 'register') {
        // A session not bound when it loaded is a plain cookie session, which any request with its cookie may use.
        proved = info !== null && stored === undefined;
        const current: DbscSession | null = info === null ? null : { handle: info.handle, binding: stored ?? null };
        const result = stored === null ? null : await guard(core.register(req, current, context));
        if (result === null) {
          // A damaged binding still counts as one: the session never takes a key in its place.
          answer = { status: 403, headers: [NO_STORE], body: null };
        } else if (!result.ok) {
          if (result.anomaly !== null) anomaly(session, result.anomaly);
          answer = result.answer;
        } else if (info !== null && (await keep(info.handle, info.version, result.binding))) {
          const b = result.binding;
          provedFor = b;
          const event: DeviceBoundEvent = { handle: info.handle, userId: info.userId, protocol: 'dbsc', sessionIdentifier: b.id, alg: b.alg, jkt: b.jkt, at: b.at };
          internals.emit('device-bound', event);
          answer = result.answer;
        } else {
          // Bound meanwhile by another registration, or ended: this key is not the session's, and gets no cookie;
          // nor may this request renew the token of a session another device now holds.
          proved = false;
          anomaly(session, 'second-key');
          answer = { status: 403, headers: [NO_STORE], body: null };
        }
      } else {
        const current: DbscSession | null = info === null ? null : { handle: info.handle, binding: stored ?? null };
        const result = await guard(core.refresh(req, current, context));
        if (result.outcome === 'challenged' && result.anomaly !== null) anomaly(session, result.anomaly);
        proved = result.outcome === 'refreshed';
        provedFor = stored ?? null;
        answer = result.answer;
      }
      // Last, after every other store call: a renewed token cannot be lost to a later failure of this request.
      // Renewed only while the session's binding is still the one proved (a registration may bind it meanwhile).
      if (proved) await session.renewIfDue((data) => sameBinding(data, provedFor));
      // The session's own changes (a renewed token) go out with the answer.
      if (!session.dirty) {
        session.responseStarted();
        return answer;
      }
      await session.commit();
      return { ...answer, headers: [...answer.headers, ...session.responseHeaders()] };
    },
  };
}
