/**
 * `createBrowserSession()`: the browser half of a latchkey session, shared by
 * every tab of the origin. The state lives in each tab's memory and travels
 * between tabs on a channel (`./bus.ts`); refreshes are made once across the
 * tabs (`./exclusive.ts`); the deadlines the server announces drive the
 * `expiring` and `expired` events (`./deadlines.ts`); the request pipeline
 * (`./pipeline.ts`) attaches credentials and learns from every answer.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { openBus } from './bus.js';
import { deadlineTimer, parseDeadlines } from './deadlines.js';
import { BrowserSessionError } from './errors.js';
import { exclusive } from './exclusive.js';
import { settings } from './options.js';
import { pipeline } from './pipeline.js';
import { initial, isShared, merge, view, withoutTokens, type Shared } from './state.js';
import type { BrowserSessionEvents, BrowserSessionOptions, Interceptor, SessionState, SignOutReason } from './types.js';

/** A session shared by the tabs of the origin, from {@link createBrowserSession}. */
export interface BrowserSession {
  /** Settles once the tab knows whether it is signed in: from another tab, or else from the server. */
  readonly ready: Promise<SessionState>;
  /** The current state (a frozen object, replaced on every change). */
  getState(): SessionState;
  /** Calls `listener` now and after every change; returns the unsubscribe function (a Svelte store, and `useSyncExternalStore(session.subscribe, session.getState)` in React). */
  subscribe(listener: (state: SessionState) => void): () => void;
  /** Listens to one event; returns the unsubscribe function. */
  on<K extends keyof BrowserSessionEvents>(type: K, listener: (event: BrowserSessionEvents[K]) => void): () => void;
  /** `fetch()` with the session: credentials, a refresh when needed (once across tabs), a refused request replayed once. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The same pipeline for any other HTTP client. */
  readonly interceptor: Interceptor;
  /**
   * Sends the sign-in request and, when the server accepts it, signs every
   * tab in with `user` (what the application wants to show). Resolves the
   * server's response, whatever its status.
   */
  signIn(input: RequestInfo | URL, init?: RequestInit, user?: unknown): Promise<Response>;
  /** Sets what the state says about the user, in every tab. */
  setUser(user: unknown): void;
  /** Extends the session now ("stay signed in"): a refresh in token mode, a request to `sessionUrl` with cookie sessions. */
  extend(): Promise<void>;
  /** Signs every tab out at once, then tells the server (one request, from this tab). */
  signOut(): Promise<void>;
  /** Ends every session of the user on the server (`logoutEverywhereUrl`), and signs every tab out. */
  signOutEverywhere(): Promise<void>;
  /** Stops listening to the other tabs and the timers (the state is kept). */
  close(): void;
}

/** What a signed-out state holds of the session: nothing. */
const CLEARED = { user: null, idle: null, absolute: null, stale: null, access: null, refresh: null } as const;

const json = (body: object): RequestInit => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** How long a new tab waits for the other tabs' state before asking the server. */
const HELLO_MS = 200;

type Listeners = Partial<Record<keyof BrowserSessionEvents, Set<(event: never) => void>>>;

/**
 * Creates the browser session: ES module, no dependencies. Make one per
 * page, early; every tab of the origin shares its state.
 *
 * @throws {ConfigError} for a missing, unknown or mistyped option, with what to write instead.
 * @example
 * ```ts
 * import { createBrowserSession } from 'latchkey/browser';
 *
 * const session = createBrowserSession({ mode: 'bearer', refreshUrl: '/auth/refresh', logoutUrl: '/auth/refresh/logout' });
 * session.on('expiring', (e) => showStaySignedIn(e.remaining));
 * const res = await session.fetch('/api/orders');
 * ```
 */
export function createBrowserSession(options: BrowserSessionOptions): BrowserSession {
  const o = settings(options);
  const tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  let s: Shared = initial(tab);
  let state = view(s);
  const listeners: Listeners = {};
  const watchers = new Set<() => void>();

  function emit<K extends keyof BrowserSessionEvents>(type: K, event: BrowserSessionEvents[K]): void {
    for (const listener of (listeners[type] ?? []) as Set<(event: BrowserSessionEvents[K]) => void>) {
      try {
        listener(event);
      } catch (err) {
        // One application listener failing must not stop the others, nor the session.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  const bus = openBus(`${o.name}:session`, (m) => {
    if (m.t === 'state' && isShared(m.s)) {
      // A bearer tab cannot use a signed-in state without its tokens.
      if (o.mode === 'bearer' && m.s.status === 'signed-in' && m.s.access === null) return;
      const next = merge(s, m.s);
      if (next !== s) commit(next, false, false);
    } else if (m.t === 'hello') {
      if (s.status !== 'unknown') post(s);
    } else lock.receive(m);
  });

  function post(x: Shared): void {
    const secret = x.access !== null || x.refresh !== null;
    // Where tokens cannot travel (no BroadcastChannel), a bearer tab tells the others only that it signed out.
    if (secret && !bus.secrets && x.status === 'signed-in') return;
    bus.post({ t: 'state', s: bus.secrets ? x : withoutTokens(x) }, secret);
  }

  const timer = deadlineTimer(
    o.warnBefore,
    (kind, deadline) => emit('expiring', { kind, deadline, remaining: Math.max(0, deadline - Date.now()) }),
    (kind, deadline) => {
      emit('expired', { kind, deadline });
      // Every tab's own timer says so: the generation stays, so that a refresh made elsewhere just in time still wins.
      commit({ ...s, ...CLEARED, status: 'signed-out', reason: 'expired' }, true, false);
    },
  );

  function commit(next: Shared, here: boolean, broadcast: boolean): void {
    const before = s;
    s = next;
    if (broadcast) post(next);
    for (const watcher of [...watchers]) watcher();
    const on = next.status === 'signed-in';
    const v = view(next);
    if (!(Object.keys(v) as Array<keyof SessionState>).every((key) => v[key] === state[key])) {
      state = v;
      emit('change', v);
      if (on && before.status !== 'signed-in') emit('signed-in', v);
      if (!on && before.status === 'signed-in') emit('signed-out', { reason: next.reason ?? 'ended', here });
    }
    // Last: a deadline already past ends the session at once, with a commit of its own.
    if (s === next) timer.set(on ? next.idle : null, on ? next.absolute : null);
  }

  /** Signs this tab (and, with `broadcast`, every tab) out: a new generation. */
  function end(reason: SignOutReason, broadcast: boolean): void {
    const was = s.status;
    commit({ ...s, ...CLEARED, gen: s.gen + 1, by: tab, status: 'signed-out', reason: was === 'signed-in' ? reason : null }, true, broadcast);
  }

  const watch = (listener: () => void): (() => void) => {
    watchers.add(listener);
    return () => watchers.delete(listener);
  };

  /** Resolves whether `test()` came true within `ms`. */
  const until = (test: () => boolean, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (test()) return resolve(true);
      const stop = watch(() => {
        if (test()) finish(true);
      });
      const t = setTimeout(() => finish(false), ms);
      function finish(result: boolean): void {
        clearTimeout(t);
        stop();
        resolve(result);
      }
    });

  const lock = exclusive(`${o.name}`, {
    gen: () => s.gen,
    watch,
    catchUp(gen) {
      bus.post({ t: 'hello' }, false);
      return until(() => s.gen > gen, 1000);
    },
  }, bus, tab);

  const pipe = pipeline(o, {
    state: () => s,
    learn,
    refresh,
    canRefresh: () => s.status === 'signed-in' || (o.mode === 'cookie' && s.status === 'unknown'),
    ready: () => ready,
  });

  /** What an answer's `Latchkey-Deadlines` says, for a request sent at generation `gen`. */
  function learn(value: string | null | undefined, gen: number, sent: number, user?: { value: unknown }): void {
    const d = parseDeadlines(value);
    // An answer to a request sent before a sign-in or sign-out is old news.
    if (d === undefined || gen !== s.gen) return;
    if (d === null) {
      if (s.status === 'signed-in') end('ended', true);
      else if (s.status === 'unknown') commit({ ...s, status: 'signed-out' }, true, false);
      return;
    }
    const idle = sent + d.idle * 1000;
    const absolute = sent + d.absolute * 1000;
    const who = user === undefined ? {} : { user: user.value, seq: s.seq + 1 };
    if (s.status !== 'signed-in') commit({ ...s, ...who, gen: s.gen + 1, by: tab, status: 'signed-in', reason: null, idle, absolute }, true, true);
    // Rounding and latency move the deadline by a second or so at every answer: only real activity is news for the other tabs.
    else if (idle > (s.idle ?? 0) + 1000 || user !== undefined) commit({ ...s, ...who, idle: Math.max(idle, s.idle ?? 0), absolute }, true, true);
  }

  /**
   * A token-endpoint answer to a request sent at `sent` that carries a pair: every tab moves to it. A
   * refresh passes the generation it started from, and its answer is dropped if the state moved on
   * meanwhile (a sign-out in this tab must not be undone by the refresh it overtook).
   */
  async function accept(res: Response, sent: number, user: unknown, from?: number): Promise<void> {
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      // Checked below.
    }
    if (from !== undefined && from !== s.gen) return;
    const life = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 0;
    const access = typeof body.access_token === 'string' ? body.access_token : null;
    const refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : null;
    if (life === 0 || (o.mode === 'bearer' && (access === null || refreshToken === null))) {
      throw new BrowserSessionError('refresh-failed', 'the token endpoint answered without a token pair', res.status);
    }
    const d = parseDeadlines(res.headers.get('latchkey-deadlines'));
    commit(
      {
        gen: s.gen + 1,
        seq: s.seq + 1,
        by: tab,
        status: 'signed-in',
        user,
        reason: null,
        // Counted from when the request left, before the server counted: never later than the server's.
        idle: d ? sent + d.idle * 1000 : null,
        absolute: d ? sent + d.absolute * 1000 : null,
        // Replaced a little before it expires: a fifth of its life, at most 10 s.
        stale: sent + life - Math.min(10_000, life / 5),
        access: o.mode === 'bearer' ? access : null,
        refresh: o.mode === 'bearer' ? refreshToken : null,
      },
      true,
      true,
    );
  }

  /** The network refresh, run by one tab for all. */
  async function renew(): Promise<void> {
    const sent = Date.now();
    const from = s.gen;
    const res = await pipe.call(o.refreshUrl, o.mode === 'bearer' ? json({ grant_type: 'refresh_token', refresh_token: s.refresh }) : {}, 'refresh');
    if (res.ok) return accept(res, sent, s.user, from);
    if (from !== s.gen) return;
    let body: { error?: unknown; detail?: unknown } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // Not JSON: a proxy's error page.
    }
    if ((res.status === 401 && body.error === 'invalid_grant') || (res.status === 400 && body.detail === 'missing')) {
      // Theft detection or revocation: every tab signs out, whatever it holds.
      return end(body.detail === 'reused' || body.detail === 'revoked' ? body.detail : 'ended', true);
    }
    throw new BrowserSessionError('refresh-failed', `the refresh endpoint answered ${res.status}`, res.status);
  }

  let flight: { gen: number; done: Promise<void> } | null = null;

  /** Refreshes once for generation `gen`, across the tabs; nothing when the generation moved on. */
  function refresh(gen: number): Promise<void> {
    if (flight !== null && flight.gen === gen) return flight.done;
    if (gen !== s.gen || !(s.status === 'signed-in' || (o.mode === 'cookie' && s.status === 'unknown'))) return Promise.resolve();
    const done: Promise<void> = lock.run(gen, renew).then(
      () => {
        if (flight?.done === done) flight = null;
      },
      (err: unknown) => {
        if (flight?.done === done) flight = null;
        throw err;
      },
    );
    flight = { gen, done };
    return done;
  }

  const ready: Promise<SessionState> = (async () => {
    bus.post({ t: 'hello' }, false);
    await until(() => s.status !== 'unknown', HELLO_MS);
    try {
      if (s.status !== 'unknown') return state;
      if (o.mode === 'bearer') commit({ ...s, status: 'signed-out' }, true, false);
      else if (o.mode === 'cookie') await refresh(s.gen);
      else await pipe.send(o.sessionUrl as string, { cache: 'no-store' }, true);
    } catch {
      // No answer (offline, 5xx): the state stays 'unknown' and the next answer decides.
    }
    return state;
  })();

  const onShow = (e: PageTransitionEvent): void => {
    // Back from the back/forward cache: this tab missed every message meanwhile.
    if (e.persisted) bus.post({ t: 'hello' }, false);
  };
  const onVisible = (): void => {
    if (document.visibilityState === 'visible') timer.check();
  };
  addEventListener('pageshow', onShow);
  document.addEventListener('visibilitychange', onVisible);

  // Plain functions, not methods: `session.subscribe` and `session.on` work when passed around unbound.
  function on<K extends keyof BrowserSessionEvents>(type: K, listener: (event: BrowserSessionEvents[K]) => void): () => void {
    const set = (listeners[type] ??= new Set()) as unknown as Set<typeof listener>;
    set.add(listener);
    return () => void set.delete(listener);
  }

  return {
    ready,
    getState: () => state,
    subscribe(listener) {
      listener(state);
      return on('change', listener);
    },
    on,
    fetch: (input, init) => pipe.send(input, init, false),
    interceptor: pipe.interceptor,
    async signIn(input, init, user = null) {
      await ready;
      if (o.mode === 'session') {
        const res = await pipe.send(input, { method: 'POST', ...init }, false);
        // A new session, whatever the tabs held before: a new generation, so that every tab takes it whole.
        if (res.ok && s.status === 'signed-in') commit({ ...s, gen: s.gen + 1, by: tab, user, seq: s.seq + 1 }, true, true);
        return res;
      }
      const sent = Date.now();
      const res = await pipe.call(input, init ?? {}, 'sign-in');
      if (res.ok) await accept(res.clone(), sent, user);
      return res;
    },
    setUser(user) {
      commit({ ...s, user, seq: s.seq + 1 }, true, true);
    },
    async extend() {
      await ready;
      if (s.status !== 'signed-in') return;
      if (o.mode === 'session') await pipe.send(o.sessionUrl as string, { cache: 'no-store' }, false);
      else await refresh(s.gen);
    },
    async signOut() {
      await ready;
      const token = s.refresh;
      if (s.status === 'signed-in') end('signed-out', true);
      // Bearer mode without a refresh token has nothing to tell the server.
      if (o.mode === 'bearer' && token === null) return;
      const res = await pipe.call(o.logoutUrl, o.mode === 'bearer' ? json({ refresh_token: token }) : {}, 'sign-out');
      if (!res.ok) throw new BrowserSessionError('sign-out-failed', `the sign-out endpoint answered ${res.status}`, res.status);
    },
    async signOutEverywhere() {
      if (o.logoutEverywhereUrl === null) throw new ConfigError('signOutEverywhere() needs the logoutEverywhereUrl option of createBrowserSession()');
      await ready;
      // The credentials first (a fresh access token), then every tab signs out, then the server is told.
      const request = { url: o.logoutEverywhereUrl, method: 'POST' };
      const headers = await pipe.interceptor.headers(request);
      if (s.status === 'signed-in') end('signed-out-everywhere', true);
      const res = await pipe.call(o.logoutEverywhereUrl, { headers }, 'sign-out');
      if (!res.ok) throw new BrowserSessionError('sign-out-failed', `the sign-out-everywhere endpoint answered ${res.status}`, res.status);
    },
    close() {
      bus.close();
      timer.stop();
      removeEventListener('pageshow', onShow);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
