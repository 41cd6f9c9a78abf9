/**
 * DBSC's header fields against a complete Structured Fields implementation
 * (the `structured-headers` package): what latchkey writes parses as the
 * draft says, and what it reads agrees with RFC 9651 for the quoted form
 * while Chrome's bare form is taken as it is. Tampered values are refused.
 */
import fc from 'fast-check';
import { parseItem, serializeItem } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { challengeHeader, parseSfString, readProofHeader, readSessionIdHeader, registrationHeader, sfString } from '../../../src/http/dbsc/headers.js';
import { parseChallenges, parseRegistration } from '../../support/dbsc-client.js';

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const anyText = fc.string({ unit: 'binary-ascii', maxLength: 40 });
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJjIn0.c2lnbmF0dXJl';

describe('DBSC header fields', () => {
  it('writes sf-strings that an RFC 9651 parser reads back unchanged', () => {
    fc.assert(
      fc.property(printable, (s) => {
        expect(parseItem(sfString(s))[0]).toBe(s);
        expect(sfString(s)).toBe(serializeItem([s, new Map()]));
      }),
    );
  });

  it('reads an sf-string exactly when an RFC 9651 parser reads a parameterless string', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, printable.map((s) => `"${s}"`), printable.map(sfString)), (input) => {
        let expected: string | null = null;
        try {
          const [value, params] = parseItem(input);
          if (typeof value === 'string' && params.size === 0) expected = value;
        } catch {
          expected = null;
        }
        expect(parseSfString(input)).toBe(expected);
      }),
    );
  });

  it('writes a registration header whose offer a browser reads: algorithms, path, challenge, authorization', () => {
    const value = registrationHeader(['ES256', 'RS256'], { path: '/auth/dbsc/register', challenge: 'c-1', authorization: 'a"b\\c' });
    expect(value).toBe('(ES256 RS256);path="/auth/dbsc/register";challenge="c-1";authorization="a\\"b\\\\c"');
    expect(parseRegistration(value)).toEqual([{ algorithms: ['ES256', 'RS256'], path: '/auth/dbsc/register', challenge: 'c-1', authorization: 'a"b\\c' }]);
    expect(parseRegistration(registrationHeader(['ES256'], { path: '/r', challenge: 'c' }))).toEqual([{ algorithms: ['ES256'], path: '/r', challenge: 'c', authorization: undefined }]);
  });

  it('writes a challenge header a browser reads as a string with its session id', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,43}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,22}$/), (challenge, id) => {
        expect(parseChallenges(challengeHeader(challenge, id))).toEqual([{ challenge, id }]);
      }),
    );
  });

  it('reads a proof quoted (the draft) or bare (Chrome), and nothing else', () => {
    expect(readProofHeader(JWT)).toBe(JWT);
    expect(readProofHeader(`"${JWT}"`)).toBe(JWT);
    expect(readProofHeader(`  ${JWT} `)).toBe(JWT);
    for (const bad of [undefined, '', `"${JWT}`, `${JWT}"`, `"${JWT}";a=1`, `"${JWT}", "${JWT}"`, `${JWT}, ${JWT}`, `"${JWT}" x`, 'a.b', `${JWT}.x`, `"a\\qb"`, `"${'a'.repeat(9000)}.b.c"`]) {
      expect(readProofHeader(bad)).toBeNull();
    }
  });

  it('reads a session id quoted or bare, only in the shape latchkey mints', () => {
    expect(readSessionIdHeader('3qV-2q2kSiFRMs9320SD1Q')).toBe('3qV-2q2kSiFRMs9320SD1Q');
    expect(readSessionIdHeader('"3qV-2q2kSiFRMs9320SD1Q"')).toBe('3qV-2q2kSiFRMs9320SD1Q');
    for (const bad of [undefined, '', '""', '"a b"', 'a b', '"x";id="y"', 'a,b', '"unterminated', 'x'.repeat(200)]) {
      expect(readSessionIdHeader(bad)).toBeNull();
    }
  });
});
