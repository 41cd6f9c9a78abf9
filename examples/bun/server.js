/* global Bun */
// latchkey on Bun: Bun.serve with the Fetch adapter (latchkey/fetch).
// Run: npm run build && bun examples/bun/server.js
//      LATCHKEY_MODE=sealed SESSION_SECRET=$(openssl rand -base64 32) bun examples/bun/server.js
// LATCHKEY_MODE is stateful (memory store, the default), sealed or tokens.
// LATCHKEY_SQLITE=./data/sessions.db keeps the sessions in an SQLite file, on Bun's own bun:sqlite;
// LATCHKEY_STORE=redis://127.0.0.1:6379 (ioredis) or postgres://app@127.0.0.1/app (pg), or any store URL
// openStore() takes, keeps them there (npm install ioredis / pg first).
import { openStore, redactStoreUrl } from 'latchkey/stores';
import { sqliteDrivers, sqliteStore } from 'latchkey/stores/sqlite';
import { createFetchApp } from '../shared/fetch-app.js';

const mode = Bun.env.LATCHKEY_MODE ?? 'stateful';
const secret = Bun.env.SESSION_SECRET;
if (mode !== 'stateful' && secret === undefined) {
  console.error(`${mode} mode needs SESSION_SECRET (32 random bytes or more), e.g. SESSION_SECRET=$(openssl rand -base64 32)`);
  process.exit(1);
}
const url = Bun.env.LATCHKEY_STORE;
const store = url ? await openStore(url) : Bun.env.LATCHKEY_SQLITE ? sqliteStore({ path: Bun.env.LATCHKEY_SQLITE }) : undefined;
const where = url ? `, store ${redactStoreUrl(url)}` : store ? `, SQLite on ${sqliteDrivers()[0]}` : '';
const app = createFetchApp({ mode, secret, store, remoteAddress: (request, server) => server.requestIP(request)?.address });

const server = Bun.serve({ hostname: Bun.env.HOST ?? '127.0.0.1', port: Number(Bun.env.PORT ?? 3000), fetch: app });
console.log(`listening on http://${server.hostname}:${server.port} (${mode}${where}, Bun ${Bun.version})`);
