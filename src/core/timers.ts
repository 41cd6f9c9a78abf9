/**
 * Background timers that never keep a process alive and are never started
 * at construction: the engine starts them on first use, so that it can be
 * constructed where a runtime forbids timers (a Workers module's global
 * scope) and a script that never uses it exits at once.
 *
 * @module
 */

/** A repeating timer's stop function. */
export type StopTimer = () => void;

/** `Deno.unrefTimer`, where the runtime is Deno: its timer ids are numbers without `unref()`. */
type DenoTimers = { readonly Deno?: { readonly unrefTimer?: (id: number) => void } };

/**
 * Runs `tick` every `ms` milliseconds until stopped. The timer does not hold
 * the process open: `unref()` where the runtime's timer has it (Node, Bun),
 * `Deno.unrefTimer` on Deno; on workerd there is no process to hold open.
 *
 * @example
 * ```ts
 * const stop = repeat(() => void sweep(), 300_000);
 * stop();
 * ```
 */
export function repeat(tick: () => void, ms: number): StopTimer {
  const timer: unknown = setInterval(tick, ms);
  const handle = timer as { unref?: unknown } | null;
  if (typeof handle === 'object' && handle !== null && typeof handle.unref === 'function') (handle as { unref(): void }).unref();
  else if (typeof timer === 'number') (globalThis as DenoTimers).Deno?.unrefTimer?.(timer);
  return () => clearInterval(timer as ReturnType<typeof setInterval>);
}
