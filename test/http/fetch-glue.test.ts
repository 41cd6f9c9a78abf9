import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { tokenRefresh } from '../../src/adapters/hono.js';
import { manualClock } from '../../src/core/clock.js';
import { fetchRequest, withHeaders } from '../../src/http/fetch.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { setup } from '../tokens/helpers.js';

describe('Fetch API glue', () => {
  it('adds cookies to a response whose headers are immutable by copying it', async () => {
    const original = Response.redirect('https://app.example/next', 303);
    const out = withHeaders(original, [
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['cache-control', 'no-store'],
    ]);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('https://app.example/next');
    expect(out.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(out.headers.get('cache-control')).toBe('no-store');
  });

  it('never reads more than 1 MiB of a body, declared or streamed, looking for a field', async () => {
    const big = `_csrf=tok&pad=${'x'.repeat(1_100_000)}`;
    const declared = new Request('https://app.example/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(big.length) },
      body: big,
    });
    expect(await fetchRequest(declared, undefined).formField?.('_csrf')).toBeUndefined();
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"refresh_token":"t","pad":"${'x'.repeat(1_100_000)}"}`));
        c.close();
      },
    });
    const streamed = new Request('https://app.example/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(await fetchRequest(streamed, undefined).bodyField?.('refresh_token')).toBeUndefined();
    const small = new Request('https://app.example/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"refresh_token":"t"}' });
    expect(await fetchRequest(small, undefined).bodyField?.('refresh_token')).toBe('t');
  });

  it("bounds Hono's token endpoints too: a streamed form body past 1 MiB is not read for its refresh_token", async () => {
    const { tokens } = await setup({ clock: manualClock(Date.now()) });
    const app = new Hono().post('/auth/refresh', tokenRefresh(createTokenTransport({ tokens })));
    const pair = await tokens.issue({ userId: 'u1' });
    const form = (pad: number) =>
      new Request('https://app.example/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(`refresh_token=${pair.refreshToken}&pad=${'x'.repeat(pad)}`));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
    expect((await app.fetch(form(1_100_000))).status).toBeGreaterThanOrEqual(400);
    expect((await app.fetch(form(10))).status).toBe(200);
  });

  it('reads the request target and form fields without consuming the body for the handler', async () => {
    const request = new Request('https://app.example/a/b?x=1', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '_csrf=tok&title=hi',
    });
    const view = fetchRequest(request, '192.0.2.1');
    expect(view.url).toBe('/a/b?x=1');
    expect(await view.formField?.('_csrf')).toBe('tok');
    expect(await view.formField?.('missing')).toBeUndefined();
    expect(await request.text()).toBe('_csrf=tok&title=hi');
  });

  it('never reads a body that is not a form', async () => {
    const request = new Request('https://app.example/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"_csrf":"tok"}' });
    expect(await fetchRequest(request, undefined).formField?.('_csrf')).toBeUndefined();
    expect(request.bodyUsed).toBe(false);
  });
});
