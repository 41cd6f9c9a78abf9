import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { parseToken } from '../../src/core/token.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createHttpSessions, type HttpRequest } from '../../src/http/http-sessions.js';
import { readCookie } from '../../src/http/cookies.js';
import { readQueryParameter } from '../../src/http/carriers.js';
import { testStore } from '../adapters/support/store.js';
import { fuzzRuns, fuzzTimeout, params, tally, writeTally } from '../fuzz/support/fuzz.js';

afterAll(() => writeTally('test/http/begin.fuzz.test.ts'));
const runs = fuzzRuns(1500);

describe('the request pipeline under arbitrary headers', () => {
  it('never throws, and asks the store only about well-formed tokens', async () => {
    const store = testStore(memoryStore());
    const sessions = createSessions({ store, sweepInterval: false, guessing: false });
    const http = createHttpSessions({ sessions, carriers: ['cookie', 'bearer', 'url'], trustProxy: ['0.0.0.0/0'], onError: () => {} });
    const text = fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 120 }), fc.constant(`__Host-session=${'a'.repeat(22)}.${'b'.repeat(43)}`));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ cookie: text, authorization: text, origin: text, 'sec-fetch-site': text, 'x-forwarded-for': text, host: text }, { requiredKeys: [] }),
        fc.constantFrom('GET', 'POST', 'DELETE', 'get', 'PATCH'),
        text,
        async (headers, method, path) => {
          tally('request pipeline: headers and URL (in-process)');
          const req: HttpRequest = {
            method,
            url: `/${path}`,
            header: (n) => (headers as Record<string, string | undefined>)[n],
            remoteAddress: '10.0.0.1',
            formField: async () => undefined,
          };
          const reads = store.reads;
          const begun = await http.begin(req);
          if (!begun.ok) {
            expect([403, 429]).toContain(begun.error?.status);
            return;
          }
          await begun.session.load();
          const cookie = readCookie(headers.cookie, '__Host-session');
          const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '')?.[1];
          const wellFormed = parseToken(cookie) !== null || parseToken(bearer) !== null || parseToken(readQueryParameter(`/${path}`, 'session')) !== null;
          if (!wellFormed) expect(store.reads).toBe(reads);
          expect(begun.session.userId).toBeNull();
        },
      ),
      params(runs),
    );
  }, fuzzTimeout(runs, 0.5));
});
