/**
 * A write load for the failover tests: loops that sign users in, check a
 * session they were given, and sign some out, through a real HTTP server,
 * remembering what the server acknowledged (a 200 to a sign-in: a session
 * that must live; a 200 to a sign-out: a session that must stay ended). At
 * the end every acknowledged session is checked again: one refused was
 * acknowledged but lost, one accepted after its acknowledged sign-out is a
 * revocation lost. Anything but 200 or a 503 `store-unavailable` is wrong.
 */
import { call, cookieHeader, cookieValue } from '../../adapters/support/client.js';

/** One answer, as judged. */
export interface Answer {
  readonly op: 'login' | 'me' | 'logout';
  /** When the request was sent and answered (ms since epoch). */
  readonly at: number;
  readonly done: number;
  readonly status: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running load on one server. */
export class WriteLoad {
  readonly answers: Answer[] = [];
  /** Acknowledged sign-ins not signed out: cookie → user. */
  readonly live = new Map<string, string>();
  /** Acknowledged sign-outs: cookies that must be refused. */
  readonly ended = new Set<string>();
  /** When each acknowledged write was answered, by cookie (the sign-out's time for a signed-out one). */
  readonly ackedAt = new Map<string, number>();
  /** Answers that are wrong whatever the store did (a 500, a 401 to a sign-in, a wrong user...). */
  readonly wrong: string[] = [];
  /** Sessions refused during the load although acknowledged (lost, or wrong). */
  readonly refusedLive: string[] = [];
  /** Sessions accepted during the load after an acknowledged sign-out. */
  readonly acceptedEnded: string[] = [];
  #running = true;
  #loops: Promise<void>[] = [];
  #n = 0;

  constructor(
    private readonly base: string,
    private readonly label: string,
    concurrency: number,
  ) {
    for (let w = 0; w < concurrency; w++) this.#loops.push(this.#loop(w));
  }

  async #loop(w: number): Promise<void> {
    for (let i = 0; this.#running; i++) {
      // Sign-ins, checks and now and then a sign-out.
      const step = i % 8;
      if (step % 2 === 0) await this.#login(w);
      else if (step === 7) await this.#logout();
      else await this.#check();
      await sleep(3);
    }
  }

  #record(op: Answer['op'], at: number, status: number, body: Record<string, unknown>): 'ok' | 'unavailable' | 'other' {
    this.answers.push({ op, at, done: Date.now(), status });
    if (status === 200) return 'ok';
    if (status === 503 && body.error === 'store-unavailable') return 'unavailable';
    return 'other';
  }

  async #login(w: number): Promise<void> {
    const user = `${this.label}-${w}-${this.#n++}`;
    const at = Date.now();
    const r = await call(this.base, `/login?user=${user}`, { method: 'POST' }).catch((err: Error) => ({
      status: 0,
      body: { error: err.message } as Record<string, unknown>,
      setCookies: [] as string[],
    }));
    const j = this.#record('login', at, r.status, r.body);
    if (j === 'ok') {
      const token = cookieValue(r.setCookies);
      if (token === null || r.body.userId !== user) this.wrong.push(`login ${user}: 200 without its session`);
      else {
        this.live.set(cookieHeader(token), user);
        this.ackedAt.set(cookieHeader(token), Date.now());
      }
    } else if (j === 'other') this.wrong.push(`login: ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
  }

  #pick<T>(items: Iterable<T>): T | undefined {
    const all = [...items];
    return all[Math.floor(Math.random() * all.length)];
  }

  async #check(): Promise<void> {
    const ended = Math.random() < 0.3;
    const cookie = ended ? this.#pick(this.ended) : this.#pick(this.live.keys());
    if (cookie === undefined) return;
    const at = Date.now();
    const r = await call(this.base, '/me', { cookie }).catch((err: Error) => ({ status: 0, body: { error: err.message } as Record<string, unknown> }));
    const j = this.#record('me', at, r.status, r.body);
    if (j !== 'ok') {
      if (j === 'other') this.wrong.push(`me: ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      return;
    }
    const user = r.body.userId;
    if (ended && user !== null) this.acceptedEnded.push(cookie);
    if (!ended && this.live.has(cookie)) {
      if (user === null) this.refusedLive.push(cookie);
      else if (user !== this.live.get(cookie)) this.wrong.push(`me: another user's session (${String(user)})`);
    }
  }

  async #logout(): Promise<void> {
    const cookie = this.#pick(this.live.keys());
    if (cookie === undefined) return;
    // Unknown until acknowledged: neither live nor ended.
    this.live.delete(cookie);
    const at = Date.now();
    const r = await call(this.base, '/logout', { method: 'POST', cookie }).catch((err: Error) => ({ status: 0, body: { error: err.message } }));
    const j = this.#record('logout', at, r.status, r.body);
    if (j === 'ok') {
      this.ended.add(cookie);
      this.ackedAt.set(cookie, Date.now());
    }
    else if (j === 'other') this.wrong.push(`logout: ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
  }

  /** Stops the loops and waits for the answers under way. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /**
   * The end of the outage that began at `from`: when the last 503 answered
   * to a request sent in [`from`, `to`) came (`from` itself when none did).
   */
  lastUnavailable(from: number, to: number): number {
    return this.answers.filter((x) => x.at >= from && x.at < to && x.status === 503).reduce((t, x) => Math.max(t, x.done), from);
  }

  /** The first sign-in sent after `t` that succeeded: when it was answered. */
  firstLoginAfter(t: number): number | null {
    const a = this.answers.filter((x) => x.op === 'login' && x.at >= t && x.status === 200).sort((p, q) => p.at - q.at)[0];
    return a === undefined ? null : a.done;
  }

  /**
   * Checks every acknowledged session once more (the load stopped): `lost`
   * acknowledged sign-ins whose session is gone, `revived` acknowledged
   * sign-outs whose session answers again.
   */
  async audit(): Promise<{ acknowledged: number; lost: number; signedOut: number; revived: number; lostAt: number[] }> {
    let lost = 0;
    let revived = 0;
    const lostAt: number[] = [];
    for (const [cookie, user] of this.live) {
      const r = await call(this.base, '/me', { cookie });
      if (r.status !== 200) throw new Error(`audit: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.body.userId !== user) {
        lost++;
        lostAt.push(this.ackedAt.get(cookie) as number);
      }
    }
    for (const cookie of this.ended) {
      const r = await call(this.base, '/me', { cookie });
      if (r.status !== 200) throw new Error(`audit: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.body.userId !== null) {
        revived++;
        lostAt.push(this.ackedAt.get(cookie) as number);
      }
    }
    return { acknowledged: this.live.size, lost, signedOut: this.ended.size, revived, lostAt };
  }
}

/** The `p`-th percentile (0..1) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
}
