// The session engine on its own, on the embedded SQLite store: what every
// adapter does under the hood. Run it with `npm run build && node examples/engine/main.js`.
import { createSessions } from 'latchkey';
import { sqliteStore } from 'latchkey/stores/sqlite';

// The store is ours to close: the engine never closes a store it is handed.
const store = sqliteStore({ path: process.env.LATCHKEY_DB ?? './.latchkey/example.db' });
const sessions = createSessions({
  store,
  idleTimeout: '30m',
  absoluteTimeout: '12h',
  maxSessionsPerUser: 5,
});
sessions.on('new-device', (e) => console.log(`  event new-device: ${e.userId} on ${e.client.device.browser}/${e.client.device.os}`));
sessions.on('revoked', (e) => console.log(`  event revoked: ${e.handle} (${e.cause})`));

const laptop = { ip: '203.0.113.10', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' };
const phone = { ip: '198.51.100.7', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' };

console.log('1. An anonymous visitor gets a session; the cookie would hold the token.');
const visit = await sessions.create({ data: { cart: ['book'] }, client: laptop });
console.log(`   handle ${visit.session.handle} (public), token ${visit.token.slice(0, 26)}… (secret)`);

console.log('2. Signing in rotates the token (fixation defence); the cart comes along.');
const login = await sessions.rotate(visit.token, { userId: 'alice' });
if (!login.ok) throw new Error(login.reason);
console.log(`   old token now: ${(await sessions.validate(visit.token)).reason}`);
const check = await sessions.validate(login.token, { client: laptop });
console.log(`   new token valid: ${check.ok}, user ${check.ok && check.session.userId}, data ${JSON.stringify(check.ok && check.session.data)}`);

console.log('3. Alice also signs in on her phone.');
const mobile = await sessions.create({ userId: 'alice', client: phone });

console.log('4. Her devices:');
for (const d of await sessions.list('alice')) {
  console.log(`   ${d.handle}  ${d.device.browser} on ${d.device.os} (${d.device.type}) from ${d.ip}`);
}

console.log('5. She signs out everywhere but the laptop.');
await sessions.revokeUser('alice', { except: login.session.handle });
console.log(`   phone token now: ${(await sessions.validate(mobile.token)).reason}`);

await sessions.revoke(login.session.handle);
await sessions.close();
await store.close();
console.log('Done. See README.md for the configuration options.');
