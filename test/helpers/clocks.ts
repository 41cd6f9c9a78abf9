/**
 * Clocks for tests that run a real server beside a real browser: the
 * server's clock follows the system clock, and moves forward when the test
 * moves the browser's (Playwright's `context.clock`), so that both sides
 * pass a deadline together without the test sleeping until it.
 */
import type { BrowserContext } from 'playwright-core';
import type { Clock } from '../../src/core/clock.js';

/** The system clock plus the jumps the test made. */
export interface JumpingClock extends Clock {
  /** Moves this clock forward by `ms`. */
  jump(ms: number): void;
}

export function jumpingClock(): JumpingClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    jump(ms) {
      if (!(ms >= 0)) throw new RangeError(`a clock moves forward only (asked ${ms} ms)`);
      offset += ms;
    },
  };
}

/**
 * Moves the browser context's clock (installed with `context.clock.install()`
 * before its pages opened) and the server's, unless `null`, to `at`, the
 * browser's time in ms since the epoch: timers due by then fire once, as
 * after a laptop lid was closed. Both keep running as the real clock
 * afterwards.
 */
export async function jumpTo(context: BrowserContext, server: JumpingClock | null, at: number): Promise<void> {
  const page = context.pages()[0];
  if (page === undefined) throw new Error('jumpTo() needs an open page to read the browser clock');
  const browserNow = (await page.evaluate('Date.now()')) as number;
  const ms = Math.max(0, Math.round(at - browserNow));
  server?.jump(ms);
  await context.clock.fastForward(ms);
}

/**
 * The process's own `Date.now()` made a {@link JumpingClock}, for a server
 * part that reads the system clock rather than an injected one (the HTTP
 * layer counts the `Latchkey-Deadlines` it sends by it). `restore()` puts
 * the real one back; call it in a `finally`.
 */
export function jumpingSystemClock(): JumpingClock & { restore(): void } {
  const real = Date.now.bind(Date);
  let offset = 0;
  Date.now = () => real() + offset;
  return {
    now: () => Date.now(),
    jump(ms) {
      if (!(ms >= 0)) throw new RangeError(`a clock moves forward only (asked ${ms} ms)`);
      offset += ms;
    },
    restore() {
      Date.now = real;
    },
  };
}
