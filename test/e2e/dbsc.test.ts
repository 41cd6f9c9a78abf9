/**
 * DBSC end to end in Debian's headless Chromium, against latchkey's DBSC
 * protocol core: sign-in asks for registration, Chromium registers a key
 * (the server's log holds the verified proof, DevTools reports the
 * session), the bound cookie appears, its expiry makes Chromium refresh
 * through the 403 challenge exchange, a copied cookie jar is worth only the
 * bound cookie's minutes, and sign-out ends the DBSC session.
 *
 * Chromium needs DBSC turned on and software keys (no TPM here); when it
 * cannot be driven, the suite says SKIPPED with the reason (and fails in CI).
 * DBSC_DEBUG=1 prints the server log and the DevTools events after the run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from './chromium.js';
import { startDbscSite, type DbscSite, type LogEntry } from '../support/dbsc-site.js';
import { launchDbscChromium, makeCertificate, until, watchDbsc, type DbscEvents, type TestCertificate } from './dbsc-harness.js';

/** Short enough to outwait in a test; Chromium refreshes proactively under 2 minutes anyway. */
const BOUND_TTL_MS = 4_000;
const CHALLENGE_TTL_MS = 1_000;

const OPENSSL = '/usr/bin/openssl';
const hasOpenssl = existsSync(OPENSSL);
if (!hasOpenssl) {
  const message = `SKIPPED: DBSC in Chromium — ${OPENSSL} not found: the test certificate cannot be made (apt-get install openssl)`;
  if (process.env.CI) throw new Error(message);
  console.warn(message);
}
const suite = chromiumPath === null || !hasOpenssl ? describe.skip : describe;

/** Outside CI a step Chromium cannot do skips the rest loudly; in CI it fails. */
function cannot(step: string, why: string): never {
  const message = `SKIPPED: DBSC in Chromium — ${step}: ${why}`;
  if (process.env.CI) throw new Error(message);
  console.warn(message);
  throw new SkipSignal(message);
}
class SkipSignal extends Error {}

suite('DBSC in headless Chromium (software keys)', () => {
  let dir = '';
  let certificate: TestCertificate;
  let site: DbscSite;
  let context: BrowserContext | undefined;
  let page: Page;
  let events: DbscEvents;
  let skipped: string | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-dbsc-'));
    certificate = makeCertificate(dir);
    site = await startDbscSite({ tls: certificate, options: { cookie: { ttl: BOUND_TTL_MS }, challengeTtl: CHALLENGE_TTL_MS } });
    context = await launchDbscChromium(chromiumPath as string, join(dir, 'profile'), certificate.spki);
    page = context.pages()[0] ?? (await context.newPage());
    events = await watchDbsc(context, page);
  }, 60_000);

  afterAll(async () => {
    if (process.env.DBSC_DEBUG) {
      console.log(JSON.stringify(site.log.map((e) => ({ ...e, proof: e.proof?.payload, at: e.at % 100000 })), null, 1));
      console.log(JSON.stringify(events.added, null, 1));
      console.log(JSON.stringify(events.occurred, null, 1));
    }
    await context?.close().catch(() => undefined);
    await site?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Runs a step unless an earlier one found Chromium cannot be driven. */
  function step(name: string, fn: () => Promise<void>, timeout = 30_000) {
    it(name, async (ctx) => {
      if (skipped !== null) return ctx.skip(skipped);
      try {
        await fn();
      } catch (err) {
        if (err instanceof SkipSignal) {
          skipped = err.message;
          return ctx.skip(err.message);
        }
        throw err;
      }
    }, timeout);
  }

  const creationOf = (id: string) =>
    events.occurred.find((e) => e.sessionId === id && e.creationEventDetails !== undefined)?.creationEventDetails as Record<string, unknown> | undefined;
  const refreshes = () => site.log.filter((e) => e.path === site.dbsc.refreshPath);
  /** Waits until no request reached the server for `quietMs` (a proactive refresh may still be on its way). */
  const settle = (quietMs = 400) => until(() => Date.now() - (site.log.at(-1)?.at ?? 0) > quietMs, 5_000);
  const boundCookie = async () => (await context!.cookies(site.origin)).find((c) => c.name === site.dbsc.cookieName);
  const me = () => page.evaluate(async () => {
    const res = await fetch('/me', { credentials: 'same-origin' });
    return { status: res.status, body: (await res.json()) as { outcome: string; reason: string | null; bound: boolean } };
  });

  step('signs in, and Chromium registers a key with a proof the server verified', async () => {
    await page.goto(`${site.origin}/`);
    await page.goto(`${site.origin}/login`);
    const registered = await until(() => site.log.some((e) => e.path === site.dbsc.registrationPath), 10_000);
    if (!registered) {
      cannot('registration', 'Chromium never POSTed to the registration endpoint within 10 s after the Secure-Session-Registration header (is DeviceBoundSessions with software keys available in this build?)');
    }
    const entry = site.log.find((e) => e.path === site.dbsc.registrationPath)!;
    expect(entry).toMatchObject({ outcome: 'registered', status: 200 });
    // The proof as Chrome signed it: the draft's header, the challenge as jti, no key in the payload.
    expect(entry.proof?.header).toMatchObject({ typ: 'dbsc+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } });
    expect(typeof entry.proof?.payload.jti).toBe('string');
    const [session] = [...site.sessions.values()];
    expect(session?.binding?.alg).toBe('ES256');
    // DevTools saw the session created, under the identifier and with the cookie the instructions named.
    const created = await until(() => creationOf(session!.binding!.id) !== undefined, 5_000);
    expect(created).toBe(true);
    expect(creationOf(session!.binding!.id)).toMatchObject({
      fetchResult: 'Success',
      newSession: { inclusionRules: { origin: site.origin, includeSite: false }, cookieCravings: [{ name: site.dbsc.cookieName, path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }] },
    });
  });

  step('sets the bound cookie with the attributes the instructions name, and /me accepts it', async () => {
    const cookie = await boundCookie();
    expect(cookie).toMatchObject({ path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    const answer = await me();
    expect(answer).toEqual({ status: 200, body: { outcome: 'authenticated', reason: null, bound: true } });
  });

  step('refreshes through the 403 challenge once the bound cookie expired, and /me gets a new value', async () => {
    await settle();
    const before = (await boundCookie())?.value;
    const seen = refreshes().length;
    // Past the cookie's life and past the challenge sent ahead of it: Chromium's cached proof is stale by now.
    await new Promise((resolve) => setTimeout(resolve, BOUND_TTL_MS + CHALLENGE_TTL_MS + 1_000));
    const answer = await me();
    const exchange = refreshes().slice(seen);
    if (exchange.length === 0) cannot('refresh', 'Chromium sent no refresh request for an expired bound cookie');
    expect(answer).toEqual({ status: 200, body: { outcome: 'authenticated', reason: null, bound: true } });
    // The deferred refresh: the stale proof answered 403 with a challenge, then a proof of that challenge, 200.
    expect(exchange.slice(0, 2).map((e) => `${e.status} ${e.outcome} ${e.reason ?? ''}`.trim())).toEqual(['403 challenged stale-challenge', '200 refreshed']);
    const [stale, fresh] = exchange as [LogEntry, LogEntry];
    expect(stale.boundCookie).toBeNull();
    expect(fresh.proof?.header).toMatchObject({ typ: 'dbsc+jwt', alg: 'ES256' });
    expect(fresh.proof?.header.jwk).toBeUndefined();
    expect(fresh.proof?.payload.jti).not.toBe(stale.proof?.payload.jti);
    expect(fresh.sessionId).toBe([...site.sessions.values()][0]?.binding?.id);
    const meEntry = site.log.find((e) => e.path === '/me' && e.at >= fresh.at);
    expect(meEntry?.outcome).toBe('authenticated');
    expect(meEntry?.boundCookie).not.toBe(before);
    expect(events.occurred.some((e) => (e.refreshEventDetails as { refreshResult?: string; wasFullyProactiveRefresh?: boolean } | undefined)?.wasFullyProactiveRefresh === false)).toBe(true);
  });

  step('gives a copied cookie jar only the bound cookie’s minutes: without it, or after it expired, the session is not signed in', async () => {
    const jar = await context!.cookies(site.origin);
    const session = jar.find((c) => c.name === '__Host-session')!;
    const bound = jar.find((c) => c.name === site.dbsc.cookieName)!;
    const port = new URL(site.origin).port;
    const get = (cookie: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/me', servername: 'localhost', ca: certificate.cert, headers: { cookie, host: `localhost:${port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(`__Host-session=${session.value}`)).toBe(401);
    expect(await get(`__Host-session=${session.value}; ${bound.name}=${bound.value}`)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, BOUND_TTL_MS + 200));
    expect(await get(`__Host-session=${session.value}; ${bound.name}=${bound.value}`)).toBe(401);
  });

  step('ends the DBSC session after sign-out: the refresh is answered with continue:false and Chromium drops it', async () => {
    const seen = refreshes().length;
    await page.goto(`${site.origin}/logout`);
    // The sign-out cleared the bound cookie: the next request in scope makes Chromium refresh, for a session that has ended.
    await page.goto(`${site.origin}/`);
    const terminated = await until(() => refreshes().slice(seen).some((e) => e.outcome === 'terminated'), 10_000);
    if (!terminated) cannot('termination', 'Chromium sent no refresh after sign-out cleared the bound cookie');
    expect(refreshes().slice(seen).find((e) => e.outcome === 'terminated')?.status).toBe(200);
    const deleted = await until(() => events.occurred.some((e) => (e.terminationEventDetails as { deletionReason?: string } | undefined)?.deletionReason === 'ServerRequested'), 5_000);
    expect(deleted).toBe(true);
    // With the session gone from Chromium, further requests trigger no refresh at all.
    await settle();
    const count = refreshes().length;
    await page.goto(`${site.origin}/`);
    await page.goto(`${site.origin}/me`);
    await settle();
    expect(refreshes().length).toBe(count);
    expect(await boundCookie()).toBeUndefined();
  });
});
