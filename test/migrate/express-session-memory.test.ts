/**
 * The switch from express-session's MemoryStore, which lives and dies with
 * its process: the hand-over works only while the process that holds the
 * old sessions runs, so here the old application and the new one run side
 * by side in one process over the same MemoryStore (as an application that
 * mounts latchkey next to express-session and moves its routes over), on
 * real Express servers.
 */
import { randomBytes } from 'node:crypto';
import session from 'express-session';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { expressSession } from '../../src/migrate/express-session.js';
import { memoryStore } from '../../src/stores/memory.js';
import { latchkeyExpressApp, mapOld, oldExpressApp, type Running } from './support/apps.js';
import { browse, Jar } from './support/jar.js';

const SECRET = ['the new express-session secret', 'the secret before it'];
const oldStore = new session.MemoryStore();
const store = memoryStore();
const sessions = createSessions({ store });
const servers: Running[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sessions.close();
  await store.close();
});

const oldRecord = (sid: string): Promise<unknown> => new Promise((resolve, reject) => oldStore.get(sid, (err, s) => (err ? reject(err) : resolve(s ?? null))));

describe('express-session with its MemoryStore to latchkey, in one process', () => {
  it('keeps a signed-in user signed in with their data, and the old application no longer knows the session', async () => {
    // Signed in while the old secret was the only one: express-session still accepts it, and so does the migrator.
    const before = await oldExpressApp({ store: oldStore, secret: SECRET[1] as string });
    servers.push(before);
    const jar = new Jar();
    await browse(before.url, '/login?user=alice&plan=pro', jar, { method: 'POST' });
    await browse(before.url, '/cart?item=book', jar, { method: 'POST' });
    const oldCookie = jar.get('connect.sid') as string;
    const value = decodeURIComponent(oldCookie);
    const sid = value.slice(2, value.lastIndexOf('.'));
    expect(await oldRecord(sid)).not.toBeNull();

    const old = await oldExpressApp({ store: oldStore, secret: SECRET });
    const app = await latchkeyExpressApp({ sessions, migrate: [expressSession({ store: oldStore, secret: SECRET, handoverKey: randomBytes(32), map: mapOld })] });
    servers.push(old, app);
    const first = await browse(app.url, '/me', jar);
    expect(first.body).toMatchObject({ userId: 'alice', data: { plan: 'pro', cart: ['book'] } });
    expect(jar.names()).toEqual(['session']);
    expect(await oldRecord(sid)).toBeNull();

    // The old cookie, wherever it is still sent, opens nothing on either side.
    const stale = new Jar();
    stale.set('connect.sid', oldCookie);
    expect((await browse(old.url, '/me', stale)).body).toEqual({ userId: null, cart: [], views: null });
    expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: 'alice', handle: first.body.handle });
    expect(await sessions.list('alice')).toHaveLength(1);
  });
});
