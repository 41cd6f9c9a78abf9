import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createAccessTokens } from '../../src/tokens/access.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { AUDIENCE, ISSUER, setup } from './helpers.js';
import { fuzzRuns, fuzzTimeout, params, tally, writeTally } from '../fuzz/support/fuzz.js';

afterAll(() => writeTally('test/tokens/fuzz.test.ts'));
const runsOf = [fuzzRuns(500), fuzzRuns(500), fuzzRuns(300), fuzzRuns(300)];

const SID = 'AAAAAAAAAAAAAAAAAAAAAA';

async function fixture() {
  const clock = manualClock();
  const keys = await createKeySet({ clock });
  const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clock });
  const valid = await access.sign({ subject: 'u1', sessionId: SID, scope: 'read', claims: { role: 'user' } });
  return { access, valid };
}

const b64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 200 });

describe('verify() under random input', () => {
  it('accepts nothing and throws nothing for random values and strings', async () => {
    const { access } = await fixture();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.string({ maxLength: 400 }), fc.tuple(b64url, b64url, b64url).map((p) => p.join('.'))), async (input) => {
        tally('access token verify(): random input (in-process)');
        const result = await access.verify(input);
        expect(result.ok).toBe(false);
      }),
      params(runsOf[0] as number),
    );
  }, fuzzTimeout(runsOf[0] as number, 1));

  it('accepts no mutation of a valid token (flipped, inserted or deleted characters, swapped parts), not even one that decodes to the same bytes', async () => {
    const { access, valid } = await fixture();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    const mutation = fc.record({
      at: fc.nat({ max: valid.length - 1 }),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      ch: fc.constantFrom(...alphabet.split('')),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        let t = valid;
        for (const m of mutations) {
          const at = Math.min(m.at, t.length);
          t = m.kind === 'insert' ? t.slice(0, at) + m.ch + t.slice(at) : m.kind === 'delete' ? t.slice(0, at) + t.slice(at + 1) : t.slice(0, at) + m.ch + t.slice(at + 1);
        }
        fc.pre(t !== valid);
        tally('access token verify(): mutations (in-process)');
        const result = await access.verify(t);
        // Not even an edit that decodes to the same bytes (a stray space, the unused low bits of the last character).
        expect(result.ok, JSON.stringify(t)).toBe(false);
      }),
      params(runsOf[1] as number),
    );
  }, fuzzTimeout(runsOf[1] as number, 1));

  it('accepts no token whose header or payload was re-encoded with other values', async () => {
    const { access, valid } = await fixture();
    const [h, p, s] = valid.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.constantFrom('alg', 'kid', 'typ', 'sub', 'sid', 'exp', 'aud', 'iss', 'crit', 'b64', 'jku', 'nbf'),
        fc.jsonValue(),
        async (inHeader, name, value) => {
          const target = inHeader ? { ...header } : { ...payload };
          fc.pre(JSON.stringify(target[name]) !== JSON.stringify(value));
          tally('access token verify(): re-encoded claims (in-process)');
          target[name] = value;
          const part = Buffer.from(JSON.stringify(target)).toString('base64url');
          const token = inHeader ? `${part}.${p}.${s}` : `${h}.${part}.${s}`;
          expect((await access.verify(token)).ok).toBe(false);
        },
      ),
      params(runsOf[2] as number),
    );
  }, fuzzTimeout(runsOf[2] as number, 1));

  it('refresh() accepts nothing and throws nothing for random strings', async () => {
    const { tokens } = await setup();
    await tokens.issue({ userId: 'u1' });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.tuple(b64url, b64url).map(([a, b]) => `${a}.${b}`)), async (input) => {
        tally('refresh token refresh(): random input (in-process)');
        expect((await tokens.refresh(input)).ok).toBe(false);
      }),
      params(runsOf[3] as number),
    );
  }, fuzzTimeout(runsOf[3] as number, 1));
});
