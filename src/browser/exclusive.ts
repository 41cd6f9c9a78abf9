/**
 * One refresh per credential generation across every tab of the origin.
 *
 * The tabs share a generation number `gen`, raised by every sign-in, refresh
 * and sign-out and carried by every state message. A tab that needs a
 * refresh at generation `g` asks for the Web Lock `<name>:refresh:<g>`:
 *
 * - the first tab to get it refreshes, broadcasts the result (generation
 *   `g + 1`) and then keeps holding the lock until the generation is two
 *   steps on (or the tab closes);
 * - every other tab is still waiting for that lock when the result reaches
 *   it, and drops its request then: it adopts the new state instead. None of
 *   them can get the lock of `g` while the refresher's tab lives, so none
 *   refreshes with the old token, however late the broadcast arrives.
 * - A tab that was frozen or cut off and is further behind finds, once it
 *   holds the lock of its old generation, a later generation's lock held
 *   (`navigator.locks.query()`): it asks the other tabs for the state
 *   instead of refreshing.
 *
 * Without Web Locks, tabs claim the generation on the bus, wait 60 ms for
 * competing claims, and the smallest tab id refreshes; the others wait for
 * its result (or for it to give up, or 15 s, then claim again).
 *
 * @module
 */
import type { Bus } from './bus.js';

/** @internal what the lock needs to know of the session */
export interface ExclusiveHost {
  /** The current generation. */
  gen(): number;
  /** Calls `listener` after every state change; returns the unsubscribe function. */
  watch(listener: () => void): () => void;
  /** Asks the other tabs for their state; resolves whether the generation moved past `gen` within a second. */
  catchUp(gen: number): Promise<boolean>;
}

/** @internal */
export interface Exclusive {
  /**
   * Runs `op` as the only operation of generation `gen` across the tabs.
   * Resolves `false` without running it when the generation moved on first
   * (another tab did it); rejects with `op`'s error (and lets the next tab try).
   */
  run(gen: number, op: () => Promise<void>): Promise<boolean>;
  /** A claim or withdrawal from another tab (fallback only). */
  receive(message: Record<string, unknown>): void;
}

const CLAIM_WINDOW = 60;
const PATIENCE = 15_000;

/** @internal Web Locks when the browser has them, else claims on the bus. */
export function exclusive(name: string, host: ExclusiveHost, bus: Bus, tab: string): Exclusive {
  const locks = typeof navigator === 'object' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
  return locks !== undefined && locks !== null ? webLocks(`${name}:refresh:`, locks, host) : claims(host, bus, tab);
}

function webLocks(prefix: string, locks: LockManager, host: ExclusiveHost): Exclusive {
  const held = new Map<number, () => void>();
  // A refresher's lock is kept until its generation is two steps behind: then nobody is waiting for it.
  host.watch(() => {
    for (const [g, release] of held) {
      if (g <= host.gen() - 2) {
        held.delete(g);
        release();
      }
    }
  });

  /** Whether a tab holds the lock of a later generation: this one fell behind. */
  async function behind(gen: number): Promise<boolean> {
    const { held: names = [] } = await locks.query();
    return names.some((l) => l.name?.startsWith(prefix) === true && Number(l.name.slice(prefix.length)) > gen);
  }

  return {
    receive() {},
    run(gen, op) {
      return new Promise<boolean>((resolve, reject) => {
        const abort = new AbortController();
        let waiting = true;
        // The generation moved on (another tab refreshed): done, whatever the lock request does. Chromium may
        // still grant a request aborted right after it was made; the grant then finds nothing to do.
        const unwatch = host.watch(() => {
          if (host.gen() === gen || !waiting) return;
          waiting = false;
          unwatch();
          abort.abort();
          resolve(false);
        });
        locks
          .request(prefix + gen, { signal: abort.signal }, async () => {
            if (!waiting) return;
            waiting = false;
            unwatch();
            try {
              if (host.gen() !== gen || ((await behind(gen)) && (await host.catchUp(gen)))) return resolve(false);
              await op();
            } catch (err) {
              // Released at once: the next tab waiting for this generation tries.
              return reject(err);
            }
            resolve(true);
            if (host.gen() - 2 >= gen) return;
            await new Promise<void>((release) => held.set(gen, release));
          })
          .catch((err: unknown) => {
            unwatch();
            if (!waiting) return;
            waiting = false;
            reject(err);
          });
      });
    },
  };
}

function claims(host: ExclusiveHost, bus: Bus, tab: string): Exclusive {
  /** Tabs that claimed each generation. */
  const claimed = new Map<number, Set<string>>();
  const sleepers = new Set<() => void>();
  const wake = (): void => {
    for (const resume of sleepers) resume();
  };
  host.watch(() => {
    for (const g of claimed.keys()) if (g < host.gen()) claimed.delete(g);
    wake();
  });
  const of = (gen: number): Set<string> => {
    let set = claimed.get(gen);
    if (set === undefined) claimed.set(gen, (set = new Set()));
    return set;
  };
  /** Until `ms` passed or something happened (a claim, a withdrawal, a new state). */
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const resume = (): void => {
        clearTimeout(t);
        sleepers.delete(resume);
        resolve();
      };
      const t = setTimeout(resume, ms);
      sleepers.add(resume);
    });

  return {
    receive(m) {
      if (typeof m.gen !== 'number' || typeof m.from !== 'string') return;
      if (m.t === 'claim') of(m.gen).add(m.from);
      else if (m.t === 'unclaim') claimed.get(m.gen)?.delete(m.from);
      else return;
      wake();
    },
    async run(gen, op) {
      const started = Date.now();
      let since = 0;
      for (;;) {
        if (host.gen() !== gen) return false;
        const set = of(gen);
        const now = Date.now();
        // Nobody claims it, or whoever did vanished (closed mid-refresh): claim it.
        if ((since === 0 && set.size === 0) || now - (since || started) > PATIENCE) {
          set.clear();
          set.add(tab);
          since = now;
          bus.post({ t: 'claim', gen, from: tab }, false);
        }
        const waited = since === 0 ? -1 : now - since;
        if (waited >= CLAIM_WINDOW && [...set].sort()[0] === tab) {
          try {
            await op();
            return true;
          } catch (err) {
            set.delete(tab);
            bus.post({ t: 'unclaim', gen, from: tab }, false);
            throw err;
          }
        }
        // Competing claims may still arrive; else the winner's result (or its withdrawal) is awaited.
        await sleep(waited >= 0 && waited < CLAIM_WINDOW ? CLAIM_WINDOW - waited : PATIENCE);
      }
    },
  };
}
