import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSealer, HEADER_BYTES, TAG_BYTES } from '../../src/sealed/index.js';
import { ConfigError } from '../../src/core/errors.js';

const K1 = 'k1-0123456789abcdef0123456789abcdef';
const K2 = 'k2-0123456789abcdef0123456789abcdef';
const K3 = 'k3-0123456789abcdef0123456789abcdef';

const payload = JSON.stringify({ i: 'abc', u: 'user-1', d: { cart: [1, 2, 3], theme: 'dark' } });

describe('createSealer', () => {
  it('opens what it sealed, under the same context', async () => {
    const sealer = createSealer({ secrets: [K1] });
    const blob = await sealer.seal(payload, 'sid');
    const opened = await sealer.unseal(blob, 'sid');
    expect(opened.ok && new TextDecoder().decode(opened.plaintext)).toBe(payload);
    expect(opened.ok && opened.staleKey).toBe(false);
  });

  it('writes the documented layout: version 1, a 4-byte key id, a 12-byte IV, ciphertext, a 16-byte tag', async () => {
    const sealer = createSealer({ secrets: K1 });
    const bytes = Buffer.from(await sealer.seal('hello', 'c'), 'base64url');
    expect(bytes[0]).toBe(1);
    expect(bytes.length).toBe(HEADER_BYTES + 5 + TAG_BYTES);
    const other = Buffer.from(await sealer.seal('hello', 'c'), 'base64url');
    expect(other.subarray(1, 5)).toEqual(bytes.subarray(1, 5));
    expect(other.subarray(5, 17)).not.toEqual(bytes.subarray(5, 17));
  });

  it('refuses a blob moved to another cookie name', async () => {
    const sealer = createSealer({ secrets: [K1] });
    expect(await sealer.unseal(await sealer.seal(payload, 'a'), 'b')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('seals with the first key, opens with every key, and flags blobs of an older key', async () => {
    const old = createSealer({ secrets: [K2] });
    const rotated = createSealer({ secrets: [K1, K2] });
    const opened = await rotated.unseal(await old.seal(payload, 'c'), 'c');
    expect(opened.ok && opened.staleKey).toBe(true);
    const fresh = await rotated.unseal(await rotated.seal(payload, 'c'), 'c');
    expect(fresh.ok && fresh.staleKey).toBe(false);
    expect(await old.unseal(await rotated.seal(payload, 'c'), 'c')).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('derives the key id from the secret, not from its position in the list', async () => {
    const a = createSealer({ secrets: [K1, K2] });
    const b = createSealer({ secrets: [K3, K2, K1] });
    const opened = await b.unseal(await a.seal(payload, 'c'), 'c');
    expect(opened.ok && opened.staleKey).toBe(true);
  });

  it('reports an unknown version and an oversized blob', async () => {
    const sealer = createSealer({ secrets: [K1], maxBlobLength: 100 });
    const bytes = Buffer.from(await sealer.seal('x', 'c'), 'base64url');
    bytes[0] = 2;
    expect(await sealer.unseal(bytes.toString('base64url'), 'c')).toEqual({ ok: false, reason: 'unknown-version' });
    expect(await sealer.unseal('A'.repeat(101), 'c')).toEqual({ ok: false, reason: 'oversized' });
  });

  it('refuses non-canonical base64url spellings of a valid blob', async () => {
    const sealer = createSealer({ secrets: [K1] });
    const blob = await sealer.seal('abcd', 'c');
    expect(blob.length % 4).not.toBe(0);
    // The last character carries unused low bits: flipping one keeps the bytes but not the spelling.
    const last = blob.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = blob.slice(0, -1) + (alphabet[alphabet.indexOf(last) ^ 1] as string);
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(blob, 'base64url'));
    expect(await sealer.unseal(twin, 'c')).toEqual({ ok: false, reason: 'malformed' });
  });

  it("refuses a blob spelled with standard base64's '+' and '/', which Buffer would decode alike", async () => {
    const sealer = createSealer({ secrets: [K1] });
    let blob = await sealer.seal(payload, 'c');
    while (!/[-_]/.test(blob)) blob = await sealer.seal(payload, 'c');
    const twin = blob.replaceAll('-', '+').replaceAll('_', '/');
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(blob, 'base64url'));
    expect(await sealer.unseal(twin, 'c')).toEqual({ ok: false, reason: 'malformed' });
    expect(await sealer.unseal(`${blob}=`, 'c')).toEqual({ ok: false, reason: 'malformed' });
    expect(await sealer.unseal(` ${blob}`, 'c')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses non-string input without throwing', async () => {
    const sealer = createSealer({ secrets: [K1] });
    for (const bad of [undefined, null, 42, {}, [], Buffer.from('x')]) {
      expect(await sealer.unseal(bad, 'c')).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  describe('configuration', () => {
    it('refuses a missing secret list, saying how to make one', () => {
      expect(() => createSealer({ secrets: [] })).toThrow(ConfigError);
      expect(() => createSealer({ secrets: [] })).toThrow(
        "secrets is required: pass one or more random secrets of at least 32 bytes, newest first, e.g. secrets: [process.env.SESSION_SECRET] (generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\")",
      );
    });

    it('refuses a secret shorter than 32 bytes, naming its position', () => {
      expect(() => createSealer({ secrets: [K1, 'short'] })).toThrow(
        `secrets[1] is 5 bytes; a sealing secret must be at least 32 random bytes. Generate one with: node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`,
      );
      expect(() => createSealer({ secrets: [new Uint8Array(31)] })).toThrow(
        'secrets[0] is 31 bytes; a sealing secret must be at least 32 random bytes, e.g. crypto.randomBytes(32)',
      );
    });

    it('refuses a secret of another type and a duplicate secret', () => {
      expect(() => createSealer({ secrets: [42 as unknown as string] })).toThrow(
        'secrets[0] must be a string or a Uint8Array of at least 32 bytes (got number)',
      );
      expect(() => createSealer({ secrets: [K1, K2, K1] })).toThrow('secrets[2] is the same as secrets[0]; remove the duplicate');
    });

    it('refuses a tiny maxBlobLength', () => {
      expect(() => createSealer({ secrets: [K1], maxBlobLength: 10 })).toThrow(
        'maxBlobLength must be a whole number of at least 64 characters (got 10)',
      );
    });
  });
});

describe('unseal under fuzzing', () => {
  const sealer = createSealer({ secrets: [K1, K2] });
  const stale = createSealer({ secrets: [K2] });
  const stranger = createSealer({ secrets: [K3] });
  let blobs: string[] = [];
  beforeAll(async () => {
    blobs = [await sealer.seal(payload, 'c'), await stale.seal(payload, 'c'), await sealer.seal('', 'c'), await sealer.seal('x'.repeat(500), 'c')];
  });

  /** Refused, as a value: unseal never rejects. */
  async function refused(input: unknown): Promise<void> {
    const result = await sealer.unseal(input, 'c');
    expect(result.ok).toBe(false);
  }

  it('accepts nothing and throws nothing for random strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.base64String({ maxLength: 400 }), fc.stringMatching(/^[A-Za-z0-9_-]{0,300}$/)), (s) =>
        refused(s),
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts no real blob with one bit flipped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...blobs), fc.nat(), fc.nat(7), async (blob, at, bit) => {
        const bytes = Buffer.from(blob, 'base64url');
        const i = at % bytes.length;
        bytes[i] = (bytes[i] as number) ^ (1 << bit);
        await refused(bytes.toString('base64url'));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts no real blob truncated, extended or with a character changed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...blobs),
        fc.nat(),
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), fc.string({ minLength: 1, maxLength: 4, unit: 'binary-ascii' })),
        fc.constantFrom('truncate', 'extend', 'prepend', 'replace'),
        async (blob, at, extra, how) => {
          const i = at % blob.length;
          const mutated =
            how === 'truncate'
              ? blob.slice(0, i)
              : how === 'extend'
                ? blob + extra
                : how === 'prepend'
                  ? extra + blob
                  : blob.slice(0, i) + extra + blob.slice(i + extra.length);
          if (mutated === blob) return;
          await refused(mutated);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts no real blob with bytes re-ordered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...blobs), fc.nat(), fc.nat(), async (blob, a, b) => {
        const bytes = Buffer.from(blob, 'base64url');
        const i = a % bytes.length;
        const j = b % bytes.length;
        if (bytes[i] === bytes[j]) return;
        [bytes[i], bytes[j]] = [bytes[j] as number, bytes[i] as number];
        await refused(bytes.toString('base64url'));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts no blob sealed with a key it does not hold, nor under another context', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 100 }), fc.string({ minLength: 1, maxLength: 20 }), async (text, ctx) => {
        await refused(await stranger.seal(text, 'c'));
        if (ctx !== 'c') await refused(await sealer.seal(text, ctx));
      }),
      { numRuns: 500 },
    );
  });
});
