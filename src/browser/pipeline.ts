/**
 * The request pipeline: what every request to the application's origins
 * carries (the access token, the CSRF header, the ask for deadlines, the
 * hooks' headers), and what every answer teaches (new deadlines, a sign-out,
 * a refused access token to refresh and replay once). `fetch()` and the
 * interceptor for other HTTP clients are the same pipeline.
 *
 * @module
 */
import { DEADLINES_HEADER } from './deadlines.js';
import { BrowserSessionError } from './errors.js';
import type { Settings } from './options.js';
import type { Shared } from './state.js';
import type { HeaderSource, HookRequest, InterceptedRequest, Interceptor } from './types.js';

/** @internal what the pipeline needs of the session */
export interface PipelineHost {
  state(): Shared;
  /**
   * An answer's `Latchkey-Deadlines`, for a request sent at generation `gen` at time `sent` (with the user a
   * session URL named).
   */
  learn(value: string | null | undefined, gen: number, sent: number, user?: { value: unknown }): void;
  /** Refreshes once across the tabs, unless generation `gen` is already behind. */
  refresh(gen: number): Promise<void>;
  /** Whether a refused access token can be cured by a refresh. */
  canRefresh(): boolean;
  ready(): Promise<unknown>;
}

/** What the pipeline remembers of a request between `headers()` and `answer()`. */
interface Ticket {
  gen: number;
  /** When the request left: the server's seconds are counted from a later moment, so deadlines counted from this one are never late. */
  sent: number;
  ours: boolean;
  replayed: boolean;
  hook: HookRequest;
}

const SAFE = /^(GET|HEAD|OPTIONS|TRACE)$/;

/** @internal */
export function pipeline(o: Settings, host: PipelineHost) {
  const tickets = new WeakMap<object, Ticket>();
  const tokenMode = o.mode !== 'session';

  function read(headers: HeaderSource, name: string): string | null {
    if (typeof headers.get === 'function') return (headers as { get(n: string): string | null | undefined }).get(name) ?? null;
    for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value == null ? null : String(value);
    return null;
  }

  function csrfToken(): string | null {
    if (o.csrfToken !== null) return o.csrfToken() ?? null;
    for (const part of document.cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === o.csrfCookie) return part.slice(eq + 1).trim();
    }
    return null;
  }

  async function hooked(request: HookRequest): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const hook of o.hooks) if (hook.headers) Object.assign(out, await hook.headers(request));
    return out;
  }

  async function hooksAsk(response: { status: number; headers: HeaderSource }, request: HookRequest): Promise<boolean> {
    let again = false;
    for (const hook of o.hooks) if (hook.response && (await hook.response(response, request))) again = true;
    return again;
  }

  async function headers(request: InterceptedRequest, internal = false): Promise<Record<string, string>> {
    if (!internal) await host.ready();
    const base = request.baseURL ? new URL(request.baseURL, location.href) : location.href;
    const url = new URL(request.url ?? '', base);
    const method = (request.method ?? 'GET').toUpperCase();
    const ours = o.origins.has(url.origin);
    const out: Record<string, string> = {};
    let s = host.state();
    // An access token about to expire is replaced first: the request is held until then.
    if (ours && tokenMode && s.status === 'signed-in' && s.stale !== null && Date.now() >= s.stale) {
      await host.refresh(s.gen);
      s = host.state();
    }
    const accessToken = ours && o.mode === 'bearer' && s.status === 'signed-in' ? s.access : null;
    if (accessToken !== null) out.authorization = `Bearer ${accessToken}`;
    if (ours && o.mode === 'session') {
      out[DEADLINES_HEADER] = '?1';
      const token = SAFE.test(method) ? null : csrfToken();
      if (token) out[o.csrfHeader] = token;
    }
    const hook: HookRequest = { method, url: url.href, accessToken, purpose: 'api' };
    if (ours) Object.assign(out, await hooked(hook));
    tickets.set(request, { gen: s.gen, sent: Date.now(), ours, replayed: tickets.get(request)?.replayed ?? false, hook });
    return out;
  }

  async function answer(request: InterceptedRequest, response: { status: number; headers: HeaderSource }, user?: { value: unknown }): Promise<boolean> {
    const t = tickets.get(request);
    if (t === undefined || !t.ours) return false;
    host.learn(read(response.headers, DEADLINES_HEADER), t.gen, t.sent, user);
    let again = await hooksAsk(response, t.hook);
    if (response.status === 401 && tokenMode && host.canRefresh()) {
      const challenge = read(response.headers, 'www-authenticate') ?? '';
      // Bearer: the token was refused. Cookie carrier: the access cookie was refused or is gone (its Max-Age passed).
      if (o.mode === 'bearer' ? /error="invalid_token"/.test(challenge) : /^\s*bearer\b/i.test(challenge)) {
        await host.refresh(t.gen);
        again = host.state().status === 'signed-in';
      }
    }
    if (!again || t.replayed) return false;
    t.replayed = true;
    return true;
  }

  async function send(input: RequestInfo | URL, init: RequestInit | undefined, internal: boolean): Promise<Response> {
    const base = new Request(input, init);
    const ticket: InterceptedRequest = { url: base.url, method: base.method };
    for (;;) {
      const extra = await headers(ticket, internal);
      const request = base.clone();
      for (const [name, value] of Object.entries(extra)) request.headers.set(name, value);
      const res = await o.fetch(request);
      // The session URL names the user; its body is read from a copy, the caller gets the answer whole.
      const user = internal || request.url === o.sessionUrl ? await userOf(res) : undefined;
      if (!(await answer(ticket, res, user))) return res;
    }
  }

  async function userOf(res: Response): Promise<{ value: unknown } | undefined> {
    if (!res.ok) return undefined;
    try {
      const body = (await res.clone().json()) as { user?: unknown };
      return body !== null && typeof body === 'object' && 'user' in body ? { value: body.user } : undefined;
    } catch {
      return undefined;
    }
  }

  /** A request of this module's own (sign-in, refresh, sign-out), with the hooks; network failures become typed errors. */
  async function call(input: RequestInfo | URL, init: RequestInit, purpose: HookRequest['purpose']): Promise<Response> {
    const base = new Request(input, { method: 'POST', credentials: 'include', cache: 'no-store', ...init });
    const hook: HookRequest = { method: base.method, url: base.url, accessToken: null, purpose };
    for (let attempt = 0; ; attempt++) {
      const request = base.clone();
      for (const [name, value] of Object.entries(await hooked(hook))) request.headers.set(name, value);
      if (o.mode === 'session') {
        const token = csrfToken();
        if (token) request.headers.set(o.csrfHeader, token);
      }
      let res: Response;
      try {
        res = await o.fetch(request);
      } catch (err) {
        if (purpose === 'sign-in') throw err;
        throw new BrowserSessionError(purpose === 'refresh' ? 'refresh-failed' : 'sign-out-failed', `the ${purpose} request got no answer`, 0, err);
      }
      if (attempt > 0 || !(await hooksAsk(res, hook))) return res;
    }
  }

  const interceptor: Interceptor = { headers: (request) => headers(request), answer: (request, response) => answer(request, response) };
  return { send, call, interceptor };
}
