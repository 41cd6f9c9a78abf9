// A latchkey engine on a shared store, run on a runtime (Bun, Deno) and
// driven by a test on Node over stdin and stdout, one JSON line each way:
// the test sends `{ "op": ..., "args": [...] }`, the agent answers
// `{ "ok": true, "result": ... }` or `{ "ok": false, "error": ... }`.
// test/runtimes/stores.test.ts opens the same store on Node beside it, as a
// second instance of one application would, and checks what each sees of
// the other's work. Test-only: results hold session tokens.
//
//   LATCHKEY_STORE=redis://127.0.0.1:6379 bun test/runtimes/store-agent.js
//   LATCHKEY_STORE=postgres://... deno run --allow-net=127.0.0.1 --allow-env test/runtimes/store-agent.js
//
// The engine caches sessions for a minute: only the store's invalidations
// (Redis pub/sub, PostgreSQL LISTEN/NOTIFY) make it see a change made on
// Node within that minute.
import { createInterface } from 'node:readline';
import { createSessions } from 'latchkey';
import { openStore } from 'latchkey/stores';

const store = await openStore(process.env.LATCHKEY_STORE ?? '');
const sessions = createSessions({ store, idleTimeout: '30m', absoluteTimeout: '12h', cache: { staleness: '1m' } });
const now = () => Date.now();

/** A session as JSON: what the test compares. */
const brief = (s) => s && { handle: s.handle, userId: s.userId, version: s.version, data: s.data };

const OPS = {
  create: async (input) => {
    const { token, session } = await sessions.create(input);
    return { token, session: brief(session) };
  },
  validate: async (token) => {
    const r = await sessions.validate(token);
    return r.ok ? { ok: true, session: brief(r.session) } : { ok: false, reason: r.reason };
  },
  patch: (handle, change) => sessions.patch(handle, change),
  rotate: async (token, options) => {
    const r = await sessions.rotate(token, options);
    return r.ok ? { ok: true, token: r.token, session: brief(r.session) } : { ok: false, reason: r.reason };
  },
  revoke: (handle) => sessions.revoke(handle),
  revokeUser: (userId) => sessions.revokeUser(userId),
  list: async (userId) => (await sessions.list(userId)).map((d) => d.handle),
  kvSet: (namespace, key, value, ttlMs) => store.kv.set(namespace, key, { value, expiresAt: now() + ttlMs }, now()),
  kvGet: async (namespace, key) => (await store.kv.get(namespace, key, now()))?.value ?? null,
  kvTake: async (namespace, key) => (await store.kv.take(namespace, key, now()))?.value ?? null,
  hit: (name, key, at, windowMs, keep) => store.counters.hit(name, key, at, windowMs, keep),
  append: (ring, body, capacity) => store.events.append(ring, body, capacity),
  recent: (ring, limit) => store.events.recent(ring, limit),
};

const lines = createInterface({ input: process.stdin });
const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
reply({ ready: true });
// One command at a time, in order: the test waits for each answer.
for await (const line of lines) {
  const { op, args = [] } = JSON.parse(line);
  try {
    const fn = OPS[op];
    if (fn === undefined) throw new Error(`unknown op ${op}`);
    reply({ ok: true, result: (await fn(...args)) ?? null });
  } catch (err) {
    reply({ ok: false, error: `${err?.name}: ${err?.message}` });
  }
}
// stdin closed: close what was opened; the process must then end by itself (nothing left holding it).
await sessions.close();
await store.close();
