import { it } from 'vitest';
import { redisStore } from '../../src/stores/redis/index.js';
import { startRedisSentinel } from '../servers/sentinel.js';
import { createSessions } from '../../src/core/sessions.js';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
it('debug', async () => {
  const set = await startRedisSentinel();
  const t0 = Date.now();
  const store = redisStore({ sentinel: { sentinels: [...set.sentinels], name: set.name }, onError: (e) => log.push(`${Date.now() - t0} onError ${String(e)}`) });
  const sessions = createSessions({ store, sweepInterval: false });
  let running = true;
  const log: string[] = [];
  let last = '';
  const loop = (async () => { for (let i = 0; running; i++) { let m: string; try { await sessions.create({ userId: 'u' + i }); m = 'ok'; } catch (e) { m = `${(e as Error).message} <- ${String((e as Error).cause)}`; } if (m !== last) { log.push(`${Date.now() - t0} ${m}`); last = m; } await sleep(10); } })();
  for (let k = 0; k < 4; k++) {
    await sleep(500);
    const p = await set.primary();
    const r = set.ports.find((x) => x !== p) as number;
    set.pause(r);
    await set.command(p, ['CLIENT', 'KILL', 'TYPE', 'replica']);
    await sleep(250);
    log.push(`${Date.now() - t0} kill ${p}`);
    await set.kill(p);
    set.resume(r);
    const n = await set.failedOver(p);
    log.push(`${Date.now() - t0} failed over to ${n}`);
    await sleep(3000);
    await set.rejoin(p);
    log.push(`${Date.now() - t0} rejoined`);
  }
  running = false; await loop;
  console.log(log.filter((l) => !l.includes('ECONNREFUSED') && !l.includes('All sentinels')).join('\n'));
  await sessions.close(); await store.close(); await set.stop();
}, 90000);
