/**
 * The cases of the engine benchmark, set up and ready to measure:
 *  - latchkey on the memory and the SQLite store: create(), validate() and
 *    patch(), the last two on a pool of pre-created sessions, round-robin;
 *  - the peer, express-session: what it does per request to load a session,
 *    cookie-signature's unsign() then MemoryStore.get(), awaited;
 *  - the floor: a bare HMAC-SHA256 signed-cookie check with node:crypto;
 *  - memory validate with the `telemetry` option given the OpenTelemetry API
 *    but no SDK registered (its no-op tracer and meter): what the option
 *    itself costs. Without the option, `memory validate` runs no telemetry
 *    code at all.
 * Each setup checks once, untimed, that its op really succeeds.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as otel from '@opentelemetry/api';
import { sign, unsign } from 'cookie-signature';
import expressSessionModule from 'express-session';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { sqliteStore } from 'latchkey/stores/sqlite';
import { ENGINE_OPTIONS, POOL, client, expressSession, expressSessionId } from './fixtures.js';

/**
 * @param {string} dir a scratch folder for SQLite files
 * @returns {Promise<{ cases: import('../lib/measure.js').Case[], close: () => Promise<void> }>}
 */
export async function engineCases(dir) {
  // Room for every session a create round makes: at the default 100,000 a full store evicts, and scans
  // every record on each create(): not the path measured here.
  const memory = await latchkeyCases('memory', () => memoryStore({ maxSessions: 1_000_000 }));
  const telemetry = await telemetryCase();
  const sqlite = await latchkeyCases('sqlite', (name) => sqliteStore({ path: join(dir, `${name}.db`) }));
  return {
    cases: [...memory.cases, ...sqlite.cases, await expressSessionCase(), floorCase(), telemetry.case],
    close: async () => {
      await telemetry.close();
      await memory.close();
      await sqlite.close();
    },
  };
}

/** create, validate and patch on one kind of store; `open(name)` opens a new, empty store. */
export async function latchkeyCases(label, open) {
  const poolStore = open('pool');
  const pool = createSessions({ store: poolStore, ...ENGINE_OPTIONS });
  const inputs = Array.from({ length: POOL }, (_, i) => ({ userId: `user-${i}`, client: client(i) }));
  const tokens = [];
  const handles = [];
  for (const input of inputs) tokens.push((await pool.create(input)).token);
  for (const input of inputs) handles.push((await pool.create(input)).session.handle);
  const reads = inputs.map(({ client }) => ({ client }));
  assert.ok((await pool.validate(tokens[0], reads[0])).ok);
  assert.ok((await pool.patch(handles[0], { set: { cart: 0 } })).ok);

  // Each create round starts from an empty store, so that rounds are alike and the heap stays small.
  let creating = null;
  let creatingStore = null;
  let round = 0;
  // An engine never closes the store it is given: each round's store is closed after its engine.
  const closeCreating = async () => {
    await creating?.close();
    await creatingStore?.close();
  };
  return {
    cases: [
      {
        name: `${label} create`,
        beforeRound: async () => {
          await closeCreating();
          creatingStore = open(`create-${round++}`);
          creating = createSessions({ store: creatingStore, ...ENGINE_OPTIONS });
        },
        op: (i) => creating.create(inputs[i % POOL]),
      },
      { name: `${label} validate`, op: (i) => pool.validate(tokens[i % POOL], reads[i % POOL]) },
      { name: `${label} patch`, op: (i) => pool.patch(handles[i % POOL], { set: { cart: i } }) },
    ],
    close: async () => {
      await closeCreating();
      await pool.close();
      await poolStore.close();
    },
  };
}

/** memory validate with `telemetry: otel` and no SDK registered. */
async function telemetryCase() {
  const store = memoryStore();
  const sessions = createSessions({ store, ...ENGINE_OPTIONS, telemetry: otel });
  const tokens = [];
  for (let i = 0; i < POOL; i++) tokens.push((await sessions.create({ userId: `user-${i}`, client: client(i) })).token);
  const reads = tokens.map((_, i) => ({ client: client(i) }));
  assert.ok((await sessions.validate(tokens[0], reads[0])).ok);
  return {
    case: { name: 'memory validate, telemetry without SDK', op: (i) => sessions.validate(tokens[i % POOL], reads[i % POOL]) },
    close: async () => {
      await sessions.close();
      await store.close();
    },
  };
}

/** express-session's per-request load: unsign the `s:<sid>.<sig>` cookie, then get the session from its MemoryStore. */
async function expressSessionCase() {
  const store = new expressSessionModule.MemoryStore();
  const set = promisify(store.set.bind(store));
  const get = promisify(store.get.bind(store));
  const secret = randomBytes(32).toString('base64url');
  const now = Date.now();
  const cookies = [];
  for (let i = 0; i < POOL; i++) {
    const sid = expressSessionId();
    await set(sid, expressSession(`user-${i}`, now));
    cookies.push(`s:${sign(sid, secret)}`);
  }
  const load = (cookie) => get(unsign(cookie.slice(2), secret));
  assert.equal((await load(cookies[0])).userId, 'user-0');
  return { name: 'express-session load', op: (i) => load(cookies[i % POOL]) };
}

/** The least any signed-cookie session check can cost: one HMAC-SHA256 and a constant-time compare. */
function floorCase() {
  const key = randomBytes(32);
  const mac = (payload) => createHmac('sha256', key).update(payload).digest();
  const cookies = Array.from({ length: POOL }, () => {
    const payload = randomBytes(24).toString('base64url');
    return `${payload}.${mac(payload).toString('base64url')}`;
  });
  const check = (cookie) => {
    const dot = cookie.lastIndexOf('.');
    const expected = mac(cookie.slice(0, dot));
    const presented = Buffer.from(cookie.slice(dot + 1), 'base64url');
    return presented.length === expected.length && timingSafeEqual(expected, presented);
  };
  assert.ok(check(cookies[0]));
  return { name: 'floor hmac check', op: (i) => check(cookies[i % POOL]) };
}
