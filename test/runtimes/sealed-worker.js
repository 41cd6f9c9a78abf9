/* global Response, TextDecoder */
// A Workers module for test/runtimes/sealed-interop.test.ts: latchkey/sealed
// on workerd (Web Crypto), sealing and opening for a test that does the same
// on Node (node:crypto). SESSION_SECRET is a binding, as in examples/workers.
//
//   POST /seal    { plaintext, context }  → { blob }             (createSealer)
//   POST /unseal  { blob, context }       → { ok, plaintext | reason }
//   POST /session { userId, data }        → { name, value }      (a sealed-session cookie)
//   POST /open    { value, times }        → { ok, userId, data } (opens the cookie `times` times: the timing)
import { env } from 'cloudflare:workers';
import { createSealedSessions, createSealer } from 'latchkey/sealed';

const sealer = createSealer({ secrets: [env.SESSION_SECRET] });
const sealed = createSealedSessions({ secrets: [env.SESSION_SECRET], revocable: false });

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const body = request.method === 'POST' ? await request.json() : {};
    if (pathname === '/seal') return Response.json({ blob: await sealer.seal(body.plaintext, body.context) });
    if (pathname === '/unseal') {
      const opened = await sealer.unseal(body.blob, body.context);
      return Response.json(opened.ok ? { ok: true, plaintext: new TextDecoder().decode(opened.plaintext), staleKey: opened.staleKey } : opened);
    }
    if (pathname === '/session') {
      const [cookie] = await sealed.seal(await sealed.create({ userId: body.userId, data: body.data }));
      return Response.json({ name: cookie.name, value: cookie.value });
    }
    if (pathname === '/open') {
      const read = (name) => (name === sealed.cookieName ? body.value : undefined);
      let opened = null;
      for (let i = 0; i < body.times; i++) opened = await sealed.open(read);
      return Response.json(opened?.ok ? { ok: true, userId: opened.session.userId, data: opened.session.data } : { ok: false, reason: opened?.reason });
    }
    return Response.json({ error: 'not-found' }, { status: 404 });
  },
};
