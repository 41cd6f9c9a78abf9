/**
 * What the client keeps of a failed `fetch`: a one-line cause, and the error
 * itself only when no secret of the call shows anywhere in it.
 *
 * @module
 * @internal
 */

/** Replaces every secret of the call in `text`, in case a server, a proxy or a driver echoes one. */
/** @internal */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}

/**
 * `err` and its causes, outermost first. `fetch` wraps the useful error
 * (`ECONNREFUSED`, `ENOTFOUND`, a TLS failure) one or more levels down; an
 * `AggregateError` (every address of a host refused) stands for its first.
 */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && chain.length < 8 && !chain.includes(e); ) {
    chain.push(e);
    e = e instanceof AggregateError && e.errors.length > 0 ? e.errors[0] : (e as { cause?: unknown }).cause;
  }
  return chain;
}

/**
 * A short description of why `fetch` failed: the innermost error's code
 * (`ECONNREFUSED`), else its message, on one line. The caller scrubs the
 * call's secrets from it.
 */
/** @internal */
export function networkCause(err: unknown): string {
  const chain = causeChain(err);
  for (const e of [...chain].reverse()) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  const innermost = chain.at(-1);
  const text = innermost instanceof Error ? innermost.message || innermost.name : typeof innermost === 'string' ? innermost : '';
  const line = text.replace(/\s+/g, ' ').trim();
  return line === '' ? 'unknown error' : line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Keeps `fetch`'s error as `cause` only when no secret of the call shows anywhere in its chain. */
/** @internal */
export function sanitizeCause(err: unknown, secrets: readonly string[]): unknown {
  let text: string;
  try {
    text = causeChain(err)
      .map((e) => (e instanceof Error ? `${e.message} ${e.stack ?? ''}` : String(e)))
      .join(' ');
  } catch {
    return undefined;
  }
  return secrets.some((s) => text.includes(s)) ? undefined : err;
}
