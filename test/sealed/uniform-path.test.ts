/**
 * Every refused blob takes the same path, up to and including one full GCM
 * decryption, whatever check it fails: nothing returns early in a way whose
 * timing would tell which check failed.
 */
import type * as NodeCrypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const decipherCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof NodeCrypto>();
  return {
    ...real,
    createDecipheriv: (...args: Parameters<typeof real.createDecipheriv>) => {
      decipherCalls.count++;
      return real.createDecipheriv(...args);
    },
  };
});

const { createSealer, createSealedSessions } = await import('../../src/sealed/index.js');

const K1 = 'k1-0123456789abcdef0123456789abcdef';
const K2 = 'k2-0123456789abcdef0123456789abcdef';

const sealer = createSealer({ secrets: [K1], maxBlobLength: 2000 });
const good = await sealer.seal('{"a":1}', 'c');
const otherCookie = await createSealer({ secrets: [K1] }).seal('{"a":1}', 'other');
const otherKey = await createSealer({ secrets: [K2] }).seal('{"a":1}', 'c');

describe('uniform failure path', () => {
  const bytes = Buffer.from(good, 'base64url');
  const withByte = (i: number, v: number) => {
    const b = Buffer.from(bytes);
    b[i] = v;
    return b.toString('base64url');
  };

  beforeEach(() => {
    decipherCalls.count = 0;
  });

  const cases: [string, unknown, string][] = [
    ['a valid blob', good, 'ok'],
    ['a tampered tag', withByte(bytes.length - 1, (bytes.at(-1) as number) ^ 1), 'invalid'],
    ['an unknown version', withByte(0, 9), 'unknown-version'],
    ['an unknown key id', withByte(1, (bytes[1] as number) ^ 0xff), 'unknown-key'],
    ['a blob too short to hold a header and a tag', good.slice(0, 20), 'malformed'],
    ['an empty string', '', 'malformed'],
    ['characters outside base64url', `${good.slice(0, -2)}!!`, 'malformed'],
    ['an oversized blob', 'A'.repeat(5000), 'oversized'],
    ['a number', 42, 'malformed'],
    ['a blob of another cookie', otherCookie, 'invalid'],
    ['a blob of another key', otherKey, 'unknown-key'],
  ];
  for (const [what, input, outcome] of cases) {
    it(`runs exactly one GCM decryption for ${what} (${outcome})`, async () => {
      const result = await sealer.unseal(input, 'c');
      expect(result.ok ? 'ok' : result.reason).toBe(outcome);
      expect(decipherCalls.count).toBe(1);
    });
  }

  it('runs one decryption for a malformed set of chunk cookies too', async () => {
    const sealed = createSealedSessions({ secrets: [K1], revocable: false });
    const result = await sealed.open((name) => (name === '__Host-session' ? '3.abc' : undefined));
    expect(result).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decipherCalls.count).toBe(1);
  });
});
