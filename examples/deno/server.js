/* global Deno */
// latchkey on Deno: Deno.serve with the Fetch adapter (latchkey/fetch).
// Run: npm run build && deno run --allow-net=127.0.0.1 --allow-env --allow-read examples/deno/server.js
//      (LATCHKEY_MODE=sealed SESSION_SECRET=$(openssl rand -base64 32) for sealed mode)
// LATCHKEY_MODE is stateful (memory store, the default), sealed or tokens.
// LATCHKEY_SQLITE=./data/sessions.db keeps the sessions in an SQLite file, on Deno's node:sqlite
// (add --allow-write for its folder).
import { sqliteDrivers, sqliteStore } from 'latchkey/stores/sqlite';
import { createFetchApp } from '../shared/fetch-app.js';

const mode = Deno.env.get('LATCHKEY_MODE') ?? 'stateful';
const secret = Deno.env.get('SESSION_SECRET');
if (mode !== 'stateful' && secret === undefined) {
  console.error(`${mode} mode needs SESSION_SECRET (32 random bytes or more), e.g. SESSION_SECRET=$(openssl rand -base64 32)`);
  Deno.exit(1);
}
const sqlite = Deno.env.get('LATCHKEY_SQLITE');
const store = sqlite ? sqliteStore({ path: sqlite }) : undefined;
const app = createFetchApp({ mode, secret, store, remoteAddress: (_request, info) => info.remoteAddr.hostname });

Deno.serve(
  {
    hostname: Deno.env.get('HOST') ?? '127.0.0.1',
    port: Number(Deno.env.get('PORT') ?? 3000),
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port} (${mode}${store ? `, SQLite on ${sqliteDrivers()[0]}` : ''}, Deno ${Deno.version.deno})`),
  },
  app,
);
