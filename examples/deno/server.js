/* global Deno */
// latchkey on Deno: Deno.serve with the Fetch adapter (latchkey/fetch).
// Run: npm run build && deno run --allow-net=127.0.0.1 --allow-env --allow-read examples/deno/server.js
//      (LATCHKEY_MODE=sealed SESSION_SECRET=$(openssl rand -base64 32) for sealed mode)
// LATCHKEY_MODE is stateful (memory store, the default), sealed or tokens.
// LATCHKEY_SQLITE=./data/sessions.db keeps the sessions in an SQLite file, on Deno's node:sqlite
// (add --allow-write for its folder); LATCHKEY_STORE=redis://127.0.0.1:6379 (ioredis) or
// postgres://app@127.0.0.1/app (pg), or any store URL openStore() takes, keeps them there
// (npm install ioredis / pg first; --allow-net must name the server's host).
import { openStore, redactStoreUrl } from 'latchkey/stores';
import { sqliteDrivers, sqliteStore } from 'latchkey/stores/sqlite';
import { createFetchApp } from '../shared/fetch-app.js';

const mode = Deno.env.get('LATCHKEY_MODE') ?? 'stateful';
const secret = Deno.env.get('SESSION_SECRET');
if (mode !== 'stateful' && secret === undefined) {
  console.error(`${mode} mode needs SESSION_SECRET (32 random bytes or more), e.g. SESSION_SECRET=$(openssl rand -base64 32)`);
  Deno.exit(1);
}
const url = Deno.env.get('LATCHKEY_STORE');
const sqlite = Deno.env.get('LATCHKEY_SQLITE');
const store = url ? await openStore(url) : sqlite ? sqliteStore({ path: sqlite }) : undefined;
const where = url ? `, store ${redactStoreUrl(url)}` : store ? `, SQLite on ${sqliteDrivers()[0]}` : '';
const app = createFetchApp({ mode, secret, store, remoteAddress: (_request, info) => info.remoteAddr.hostname });

Deno.serve(
  {
    hostname: Deno.env.get('HOST') ?? '127.0.0.1',
    port: Number(Deno.env.get('PORT') ?? 3000),
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port} (${mode}${where}, Deno ${Deno.version.deno})`),
  },
  app,
);
