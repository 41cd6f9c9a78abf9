// Opens the store a URL names (the first argument: no environment access
// needed to read it) and prints one JSON line: `{ "ok": true }`, or the
// error's name, code and message. test/runtimes/store-permissions.test.ts
// runs it on Deno with and without the permissions a store needs.
//
//   deno run --allow-read --allow-net=127.0.0.1 --allow-env test/runtimes/store-open.js postgres://...
import { openStore } from 'latchkey/stores';

try {
  const store = await openStore(process.argv[2] ?? '');
  await store.close();
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, name: err?.name, code: err?.code, message: err?.message }));
}
