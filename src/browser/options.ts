/**
 * The options of `createBrowserSession()`, checked and completed once, at
 * construction: unknown keys and wrong types are refused with a message
 * that says what to write instead.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import type { BrowserSessionOptions, RequestHook, SessionMode } from './types.js';

/** @internal the options as the session reads them */
export interface Settings {
  readonly mode: SessionMode;
  readonly refreshUrl: string;
  readonly logoutUrl: string;
  readonly logoutEverywhereUrl: string | null;
  readonly sessionUrl: string | null;
  readonly csrfHeader: string;
  readonly csrfCookie: string;
  readonly csrfToken: (() => string | null | undefined) | null;
  /** Origins the credentials go to: the page's and `origins`. */
  readonly origins: ReadonlySet<string>;
  readonly warnBefore: number;
  readonly name: string;
  readonly fetch: (input: Request | string, init?: RequestInit) => Promise<Response>;
  readonly hooks: readonly RequestHook[];
}

const KEYS = ['mode', 'refreshUrl', 'logoutUrl', 'logoutEverywhereUrl', 'sessionUrl', 'csrf', 'origins', 'warnBefore', 'name', 'fetch', 'hooks'];
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const fail = (message: string): never => {
  throw new ConfigError(message);
};

/** An absolute URL of a string option, or `fallback`. */
function url(value: unknown, key: string, fallback: string | null): string | null {
  if (value === undefined) return fallback === null ? null : new URL(fallback, location.href).href;
  if (typeof value !== 'string' || value === '') return fail(`${key} must be a URL (e.g. '/auth/refresh')`);
  return new URL(value, location.href).href;
}

/** @internal */
export function settings(options: BrowserSessionOptions): Settings {
  if (options === null || typeof options !== 'object') return fail("createBrowserSession() takes options: { mode: 'bearer' | 'cookie' | 'session', ... }");
  for (const key of Object.keys(options)) if (!KEYS.includes(key)) fail(`${key} is not an option of createBrowserSession(); known: ${KEYS.join(', ')}`);
  const o = options as BrowserSessionOptions & Record<string, unknown>;
  const mode = o.mode;
  if (mode !== 'bearer' && mode !== 'cookie' && mode !== 'session') {
    fail("mode must be 'bearer' or 'cookie' (token mode's carriers) or 'session' (cookie sessions)");
  }
  const session = mode === 'session';
  if (session && o.refreshUrl !== undefined) fail("refreshUrl applies to token mode only, not to mode 'session'");
  if (session && (o.logoutUrl === undefined || o.sessionUrl === undefined)) {
    fail("mode 'session' needs sessionUrl (GET, answers { user }) and logoutUrl (POST, calls session.logout())");
  }
  if (!session && o.csrf !== undefined) fail("csrf applies to mode 'session' only");
  const csrf = o.csrf ?? {};
  if (csrf === null || typeof csrf !== 'object') fail('csrf must be an object { header?, cookie?, token? }');
  for (const key of Object.keys(csrf)) if (key !== 'header' && key !== 'cookie' && key !== 'token') fail(`csrf.${key} is not an option; known: header, cookie, token`);
  const csrfHeader = csrf.header ?? 'x-csrf-token';
  const csrfCookie = csrf.cookie ?? '__Host-csrf';
  if (typeof csrfHeader !== 'string' || !HEADER.test(csrfHeader)) fail('csrf.header must be a header name');
  if (typeof csrfCookie !== 'string' || !HEADER.test(csrfCookie)) fail('csrf.cookie must be a cookie name');
  if (csrf.token !== undefined && typeof csrf.token !== 'function') fail('csrf.token must be a function');
  const origins = o.origins ?? [];
  if (!Array.isArray(origins)) fail("origins must be a list such as ['https://api.example.com']");
  const allowed = new Set([location.origin]);
  for (const origin of origins) {
    let parsed: URL | null = null;
    try {
      parsed = typeof origin === 'string' ? new URL(origin) : null;
    } catch {
      parsed = null;
    }
    if (parsed === null || parsed.origin !== origin) fail(`origins: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path)`);
    allowed.add(origin);
  }
  const warnBefore = o.warnBefore ?? 60_000;
  if (typeof warnBefore !== 'number' || !Number.isFinite(warnBefore) || warnBefore < 0) fail('warnBefore must be a number of milliseconds (default 60000)');
  const name = o.name ?? 'latchkey';
  if (typeof name !== 'string' || name === '') fail('name must be a non-empty string');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') fail('fetch must be a function like globalThis.fetch');
  const hooks = o.hooks ?? [];
  if (!Array.isArray(hooks) || !hooks.every((h: unknown) => h !== null && typeof h === 'object')) fail('hooks must be a list of { headers?, response? }');
  const s: Settings = {
    mode,
    refreshUrl: url(o.refreshUrl, 'refreshUrl', '/auth/refresh') as string,
    logoutUrl: url(o.logoutUrl, 'logoutUrl', '/auth/refresh/logout') as string,
    logoutEverywhereUrl: url(o.logoutEverywhereUrl, 'logoutEverywhereUrl', null),
    sessionUrl: url(o.sessionUrl, 'sessionUrl', null),
    csrfHeader: csrfHeader.toLowerCase(),
    csrfCookie,
    csrfToken: csrf.token ?? null,
    origins: allowed,
    warnBefore,
    name,
    // Taken now: a script that wraps window.fetch later (a generic exfiltration kit) never sees a request of this session.
    fetch: o.fetch ?? fetch.bind(globalThis),
    hooks: [...hooks],
  };
  for (const [key, value] of [['refreshUrl', s.refreshUrl], ['logoutUrl', s.logoutUrl], ['logoutEverywhereUrl', s.logoutEverywhereUrl], ['sessionUrl', s.sessionUrl]] as const) {
    if (value !== null && !allowed.has(new URL(value).origin)) fail(`${key} is on an origin the session does not trust: add it to origins`);
  }
  return s;
}
