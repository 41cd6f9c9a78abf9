/**
 * The client half of the deadlines protocol: reading `Latchkey-Deadlines`
 * (`idle=1799, absolute=86399` or `none`), and one timer that fires
 * `expiring` and then `expired` for the earlier deadline.
 *
 * @module
 */

/** The header, lower case. */
export const DEADLINES_HEADER = 'latchkey-deadlines';

/** Seconds left until each deadline, as the server counted them when it answered. */
export interface Deadlines {
  readonly idle: number;
  readonly absolute: number;
}

const MEMBER = /^([a-z]+)=(\d{1,12})$/;

/**
 * Reads a `Latchkey-Deadlines` value: the seconds left, `null` for `none`
 * (no signed-in session), `undefined` for anything else (ignored).
 *
 * @example
 * ```ts
 * parseDeadlines('idle=1799, absolute=86399'); // { idle: 1799, absolute: 86399 }
 * parseDeadlines('none'); // null
 * ```
 */
export function parseDeadlines(value: string | null | undefined): Deadlines | null | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === 'none') return null;
  let idle: number | undefined;
  let absolute: number | undefined;
  for (const part of text.split(',')) {
    const m = MEMBER.exec(part.trim());
    if (m === null) continue;
    if (m[1] === 'idle') idle = Number(m[2]);
    else if (m[1] === 'absolute') absolute = Number(m[2]);
  }
  return idle === undefined || absolute === undefined ? undefined : { idle: Math.min(idle, absolute), absolute };
}

/**
 * @internal One timer for the earlier of two deadlines: `warn` once,
 * `warnBefore` ms ahead (at once if that moment has passed), then `end`
 * when it passes. `set()` again whenever the deadlines change; a deadline
 * already warned about is not warned about twice.
 */
export function deadlineTimer(warnBefore: number, warn: (kind: 'idle' | 'absolute', deadline: number) => void, end: (kind: 'idle' | 'absolute', deadline: number) => void) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let warned: number | null = null;
  let idle: number | null = null;
  let absolute: number | null = null;

  function check(): void {
    clearTimeout(timer);
    timer = undefined;
    if (idle === null || absolute === null) return;
    const kind = idle <= absolute ? 'idle' : 'absolute';
    const deadline = Math.min(idle, absolute);
    const now = Date.now();
    if (now >= deadline) {
      idle = absolute = null;
      end(kind, deadline);
      return;
    }
    if (warned !== deadline && now >= deadline - warnBefore) {
      warned = deadline;
      warn(kind, deadline);
    }
    const next = warned === deadline ? deadline : deadline - warnBefore;
    // Timers are clamped to 2^31-1 ms (24.8 days): a longer wait is taken in steps.
    timer = setTimeout(check, Math.min(next - now, 0x7fffffff));
  }

  return {
    /** The deadlines (ms since the epoch), or nulls when signed out. */
    set(nextIdle: number | null, nextAbsolute: number | null): void {
      idle = nextIdle;
      absolute = nextAbsolute;
      check();
    },
    /** Looks again now (a tab coming back to the foreground, whose timers were throttled). */
    check,
    stop(): void {
      clearTimeout(timer);
      idle = absolute = null;
    },
  };
}
