/**
 * A browser's cookie jar for one site, as small as the tests need: it keeps
 * what `Set-Cookie` sets, drops what it expires, and sends the rest.
 */
export class Jar {
  readonly #cookies = new Map<string, string>();

  /** Applies a response's `Set-Cookie` lines. */
  take(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = attributes.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  names(): string[] {
    return [...this.#cookies.keys()].sort();
  }

  /** The `Cookie` header the browser would send. */
  header(): string {
    return [...this.#cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  setCookies: string[];
  /** When the whole answer had arrived (performance.now()). */
  at: number;
}

/** A request as a browser with `jar` sends it (same-origin), the answer's cookies taken into the jar. */
export async function browse(base: string, path: string, jar: Jar, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { ...(method === 'GET' ? {} : { 'sec-fetch-site': 'same-origin' }), ...init.headers };
  const cookie = jar.header();
  if (cookie !== '') headers.cookie = cookie;
  const res = await fetch(base + path, { method, headers, redirect: 'manual' });
  const text = await res.text();
  const at = performance.now();
  const setCookies = res.headers.getSetCookie();
  jar.take(setCookies);
  let body: Record<string, unknown> = {};
  try {
    body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    body = { text };
  }
  return { status: res.status, body, setCookies, at };
}
