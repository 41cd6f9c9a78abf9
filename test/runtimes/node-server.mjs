// The conformance app (examples/shared/fetch-app.js) on Node, which has no
// Fetch server of its own: @hono/node-server bridges node:http to it, as in
// examples/fetch. Run: LATCHKEY_MODE=stateful PORT=3000 node test/runtimes/node-server.mjs
import { createAdaptorServer } from '@hono/node-server';
import { sqliteDrivers, sqliteStore } from 'latchkey/stores/sqlite';
import { createFetchApp } from '../../examples/shared/fetch-app.js';

const mode = process.env.LATCHKEY_MODE ?? 'stateful';
// LATCHKEY_SQLITE names an SQLite file for the sessions (node:sqlite from Node 22.13).
const store = process.env.LATCHKEY_SQLITE ? sqliteStore({ path: process.env.LATCHKEY_SQLITE }) : undefined;
const app = createFetchApp({ mode, secret: process.env.SESSION_SECRET, store, remoteAddress: (_request, env) => env?.incoming?.socket?.remoteAddress });
const port = Number(process.env.PORT ?? 3000);
createAdaptorServer({ fetch: app }).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port} (${mode}${store ? `, SQLite on ${sqliteDrivers()[0]}` : ''}, Node ${process.version})`));
