// DPoP server nonces through the service (`--dpop-nonce-secret`, RFC 9449
// section 8): a backend forwards its end user's proofs to a real listening
// `latchkey serve` with latchkey/client and hands the service's nonce on to
// its client. A proof without a nonce is refused with the nonce to retry
// with; issue and refresh hand out the current nonce, as the token
// transport's endpoints do; introspection hands out a fresh one when the
// proof's nonce is due to rotate, as a resource behind tokenGuard() does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatchkeyClient } from '../../src/client/index.js';
import { manualClock } from '../../src/core/clock.js';
import { createDpopVerifier } from '../../src/tokens/dpop.js';
import { memoryReplayCache } from '../../src/tokens/dpop-replay.js';
import { rejection, startService, type ServiceFixture } from '../helpers/service.js';
import { dpopClient, type DpopClient } from '../support/dpop-client.js';

const LOGIN = 'https://app.example.test/auth/login';
const REFRESH = 'https://app.example.test/auth/refresh';
const API = 'https://app.example.test/api/me';
const NONCE_SECRET = 'dpop-nonce-test-secret-0123456789abcdefghij';
/** The service's nonce step (DpopNonceOptions' default). */
const STEP_MS = 300_000;

let fixture: ServiceFixture;
let base: string;
let apiKey: string;
let latchkey: LatchkeyClient;
let alice: DpopClient;

beforeAll(async () => {
  fixture = await startService('dpop-nonce-test', { flags: { dpopNonceSecret: NONCE_SECRET } });
  ({ base, apiKey, latchkey } = fixture);
  alice = await dpopClient('ES256');
});

afterAll(async () => {
  await fixture?.close();
});


/** Waits out the end of a nonce step when it is near, so that a test's nonces all belong to one step. */
async function awayFromStepEnd(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 10));
}

/** The nonce an instance with the service's secret minted a step ago: good, and due to rotate. */
function previousStepNonce(): string {
  const clock = manualClock(Date.now() - STEP_MS);
  return createDpopVerifier({ replayCache: memoryReplayCache({ clock }), clock, nonce: { secret: NONCE_SECRET } }).nonce() as string;
}

let n = 0;
const user = (): string => `dpop-nonce-${++n}`;

describe('DPoP nonces of the service', { timeout: 15_000 }, () => {
  it('refuses a forwarded proof without a nonce with the nonce to retry with, and issues and refreshes with the current nonce', async () => {
    await awayFromStepEnd();
    alice.nonce = null;
    const missing = await rejection(latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN), method: 'POST', url: LOGIN } }));
    expect({ status: missing.status, reason: missing.reason, detail: missing.detail }).toEqual({ status: 400, reason: 'invalid_dpop_proof', detail: 'nonce-missing' });
    expect(missing.dpopNonce).toMatch(/^[A-Za-z0-9_-]{27}$/);
    alice.nonce = missing.dpopNonce as string;
    const pair = await latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN), method: 'POST', url: LOGIN } });
    expect({ tokenType: pair.tokenType, dpopNonce: pair.dpopNonce }).toEqual({ tokenType: 'DPoP', dpopNonce: missing.dpopNonce });
    const next = await latchkey.refreshTokens(pair.refreshToken, { dpop: { proof: await alice.proof('POST', REFRESH), method: 'POST', url: REFRESH } });
    expect(next.dpopNonce).toBe(missing.dpopNonce);
    // A nonce the service never minted: refused, with the one to use.
    const forged = await rejection(latchkey.refreshTokens(next.refreshToken, { dpop: { proof: await alice.proof('POST', REFRESH, { claims: { nonce: 'A'.repeat(27) } }), method: 'POST', url: REFRESH } }));
    expect({ detail: forged.detail, dpopNonce: forged.dpopNonce }).toEqual({ detail: 'nonce-invalid', dpopNonce: missing.dpopNonce });
  });

  it('introspects a bound token with a proof whose nonce is due to rotate and hands out the fresh nonce, as a guarded resource does, and none for a current nonce', async () => {
    await awayFromStepEnd();
    const current = (await rejection(latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN, { claims: { nonce: undefined } }), method: 'POST', url: LOGIN } }))).dpopNonce as string;
    alice.nonce = current;
    const pair = await latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN), method: 'POST', url: LOGIN } });
    const fresh = await latchkey.introspectToken(pair.accessToken, { dpop: { proof: await alice.proof('GET', API, { accessToken: pair.accessToken }), method: 'GET', url: API } });
    expect(fresh).toMatchObject({ active: true, tokenType: 'DPoP' });
    expect(fresh).not.toHaveProperty('dpopNonce');
    alice.nonce = previousStepNonce();
    expect(alice.nonce).not.toBe(current);
    const due = await latchkey.introspectToken(pair.accessToken, { dpop: { proof: await alice.proof('GET', API, { accessToken: pair.accessToken }), method: 'GET', url: API } });
    expect(due).toMatchObject({ active: true, tokenType: 'DPoP', dpopNonce: current });
    // On the wire: the answer's DPoP-Nonce header, for callers in any language.
    alice.nonce = previousStepNonce();
    const raw = await fetch(`${base}/v1/tokens/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: pair.accessToken, dpop: { proof: await alice.proof('GET', API, { accessToken: pair.accessToken }), method: 'GET', url: API } }),
    });
    expect({ status: raw.status, active: ((await raw.json()) as { active: boolean }).active, nonce: raw.headers.get('dpop-nonce') }).toEqual({ status: 200, active: true, nonce: current });
  });
});
