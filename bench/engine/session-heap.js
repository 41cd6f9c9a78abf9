/**
 * Memory per stored session, measured in a fresh process:
 *   node --expose-gc bench/engine/session-heap.js <subject> <count>
 * prints one line of JSON (see bytesPerItem in ../lib/heap.js).
 *
 * Subjects:
 *  - latchkey: the memory store, sessions of a signed-in user with a realistic
 *    client and empty data (one user per session: the user index is counted);
 *  - latchkey anonymous, latchkey no client: the same without a user (so
 *    without the user index) or without a client, to show where bytes go;
 *  - express-session: its MemoryStore, the session it keeps for a signed-in
 *    user: the same data as "latchkey no client";
 *  - express-session with client: the same with the client's IP address and
 *    user agent in the session: the same data as "latchkey".
 */
import { argv } from 'node:process';
import { promisify } from 'node:util';
import expressSessionModule from 'express-session';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { bytesPerItem } from '../lib/heap.js';
import { ENGINE_OPTIONS, client, expressSession, expressSessionId } from './fixtures.js';

const subjects = {
  latchkey: latchkey((i) => ({ userId: `user-${i}`, client: client(i) })),
  'latchkey anonymous': latchkey((i) => ({ client: client(i) })),
  'latchkey no client': latchkey((i) => ({ userId: `user-${i}` })),

  'express-session': expressSessions(() => undefined),
  'express-session with client': expressSessions(client),
};

/** Builds `count` sessions in express-session's MemoryStore, the i-th with the client `clientOf(i)`. */
function expressSessions(clientOf) {
  return async (count) => {
    const store = new expressSessionModule.MemoryStore();
    const set = promisify(store.set.bind(store));
    const now = Date.now();
    for (let i = 0; i < count; i++) await set(expressSessionId(), expressSession(`user-${i}`, now, clientOf(i)));
    return store;
  };
}

/** Builds `count` sessions in a memory store, the i-th created with `input(i)`. */
function latchkey(input) {
  return async (count) => {
    const sessions = createSessions({ store: memoryStore({ maxSessions: count }), ...ENGINE_OPTIONS });
    for (let i = 0; i < count; i++) await sessions.create(input(i));
    return sessions;
  };
}

const [subject, count] = [argv[2], Number(argv[3])];
const build = subjects[subject];
if (build === undefined || !Number.isSafeInteger(count) || count < 1) {
  throw new Error(`usage: session-heap.js <${Object.keys(subjects).join('|')}> <count>`);
}
console.log(JSON.stringify({ subject, ...(await bytesPerItem(count, build)) }));
