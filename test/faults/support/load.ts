/**
 * A steady load of judged requests for the outage tests: a few loops send a
 * mix of operations, each answer judged at once as right (`ok`), a correct
 * refusal for a store that is down (`unavailable`: 503 with the store
 * error), or wrong (a 500, a revoked credential accepted, a live one
 * refused, a hang...). The timeline then says what happened before, during
 * and after an outage.
 */

/** How one answer was judged. */
export type Judgement = 'ok' | 'unavailable' | { readonly wrong: string };

/** One operation of the mix. */
export interface Op {
  readonly name: string;
  /**
   * Whether an in-process cache may answer it right while the store is down:
   * `'live'` until the cache's staleness runs out (a live session or token
   * family), `'ended'` for good (an ended family never lives again).
   */
  readonly cached?: 'live' | 'ended';
  /** Sends the request and judges the answer. */
  run(): Promise<{ status: number; judgement: Judgement }>;
}

/** One judged answer. */
export interface Sample {
  readonly op: string;
  readonly cached: Op['cached'];
  /** When the request was sent (ms since epoch). */
  readonly at: number;
  readonly ms: number;
  readonly status: number;
  readonly judgement: Judgement;
}

/** A running load. */
export class Load {
  readonly samples: Sample[] = [];
  #running = true;
  #loops: Promise<void>[] = [];

  constructor(ops: readonly Op[], concurrency: number) {
    for (let w = 0; w < concurrency; w++) {
      this.#loops.push(
        (async () => {
          for (let n = w; this.#running; n++) {
            const op = ops[n % ops.length] as Op;
            const at = Date.now();
            let status = 0;
            let judgement: Judgement;
            try {
              ({ status, judgement } = await op.run());
            } catch (err) {
              judgement = { wrong: `no answer: ${(err as Error).message}` };
            }
            this.samples.push({ op: op.name, cached: op.cached, at, ms: Date.now() - at, status, judgement });
            // A breath between requests: a steady load, not a flood of the shared machine.
            await new Promise((r) => setTimeout(r, 5));
          }
        })(),
      );
    }
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Samples of requests sent in [from, to). */
  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }
}

/** What the outage tests report and check, from the samples. */
export interface OutageSummary {
  /** Statuses of the requests sent while the store was down. */
  readonly during: Record<string, number>;
  /** Wrong answers, at any time. */
  readonly wrong: string[];
  /** Answers other than 503, given while the store was down, to requests sent once every cache had expired (ended families aside). */
  readonly servedStale: string[];
  /** Answers slower than the bound while down. */
  readonly slow: string[];
  /** ms from the store's return to the first moment after which every operation answers right. */
  readonly recoveryMs: number | null;
}

/**
 * Judges a timeline: the store went down at `down`, every cache had expired
 * by `expired`, bringing it back began at `restoring` (a restart takes a
 * moment, and may answer before it says so) and it was back at `up`;
 * requests sent while down must each be answered within `boundMs`.
 */
export function summarise(load: Load, t: { down: number; expired: number; restoring: number; up: number; boundMs: number }): OutageSummary {
  const during: Record<string, number> = {};
  const wrong: string[] = [];
  const servedStale: string[] = [];
  const slow: string[] = [];
  const describe = (s: Sample): string => `${s.op} at ${s.at - t.down} ms -> ${s.status} in ${s.ms} ms ${typeof s.judgement === 'object' ? s.judgement.wrong : s.judgement}`;
  for (const s of load.samples) {
    if (typeof s.judgement === 'object') wrong.push(describe(s));
    if (s.at < t.down || s.at >= t.up) continue;
    during[s.status] = (during[s.status] ?? 0) + 1;
    if (s.ms > t.boundMs) slow.push(describe(s));
    // A request still waiting when the store came back may well be answered right: only answers given while it was down count.
    if (s.at >= t.expired && s.at + s.ms < t.restoring && s.cached !== 'ended' && s.judgement !== 'unavailable') servedStale.push(describe(s));
  }
  // Recovery: the last request after `up` that was not right, plus a moment.
  const after = load.samples.filter((s) => s.at >= t.up);
  const lastBad = after.filter((s) => s.judgement !== 'ok').reduce((m, s) => Math.max(m, s.at + s.ms), t.up);
  const recovered = after.some((s) => s.at > lastBad && s.judgement === 'ok');
  return { during, wrong, servedStale, slow, recoveryMs: recovered ? lastBad - t.up : null };
}

/** A JSON body, or null. */
export async function jsonOf(res: Response): Promise<Record<string, unknown> | null> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}
