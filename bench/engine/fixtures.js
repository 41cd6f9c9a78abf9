/**
 * Inputs shared by the engine benchmark's speed and memory measurements:
 * realistic clients, the engine options, and express-session's session shape.
 */
import { randomBytes } from 'node:crypto';

/** Sessions pre-created for the read and patch cases, chosen round-robin. */
export const POOL = 10_000;

/**
 * The engine as benchmarked: defaults (idle 30 min, absolute 12 h) but for a
 * touchInterval longer than the whole run, so that validate() never writes:
 * the common read path. A real deployment writes once per session per minute.
 */
export const ENGINE_OPTIONS = { touchInterval: '10m' };

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
];

/**
 * The i-th client: an address of 203.0.113.0/24 and one of a handful of real
 * browsers. Each call makes new strings, as parsing a request would, so that
 * nothing is shared between sessions unless the engine shares it.
 */
export function client(i) {
  return { ip: fresh(`203.0.113.${(i % 254) + 1}`), userAgent: fresh(USER_AGENTS[i % USER_AGENTS.length]) };
}

/** A flat copy of a string, not shared with any other. */
function fresh(text) {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** A session id as express-session makes them (uid-safe, 24 bytes). */
export function expressSessionId() {
  return randomBytes(24).toString('base64url');
}

/**
 * What express-session stores for a signed-in user, with its default cookie,
 * as of `now`; with `client`, also the IP address and user agent that
 * latchkey records for a session (what an app keeps to show "your devices").
 */
export function expressSession(userId, now, client) {
  const maxAge = 30 * 60 * 1000;
  const session = {
    cookie: { originalMaxAge: maxAge, expires: new Date(now + maxAge), httpOnly: true, path: '/' },
    userId,
  };
  if (client !== undefined) Object.assign(session, { ip: client.ip, userAgent: client.userAgent });
  return session;
}
