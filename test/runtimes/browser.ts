/**
 * What the runtime tests drive an app with: a cookie jar that acts as one
 * browser for one site, a form another site posts, and a tampered value.
 */
/** A client that keeps the cookies it is given, as a browser would for one site. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly url: string) {}

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(path: string, init: { method?: string; form?: Record<string, string>; cookie?: string; fetchMetadata?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    const cookie = init.cookie ?? this.header();
    if (cookie !== '') headers.cookie = cookie;
    let body: string | undefined;
    if (init.method === 'POST') {
      // What a browser sends with a same-origin form: Fetch Metadata passes the CSRF check.
      // An old browser sends neither it nor Origin: then only a CSRF token lets a write through.
      if (init.fetchMetadata !== false) headers['sec-fetch-site'] = 'same-origin';
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form ?? {}).toString();
    }
    const res = await fetch(this.url + path, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    // A request sent with other cookies (a copy, a forgery) is not this browser's: its answer leaves the jar alone.
    if (init.cookie !== undefined) return res;
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(path: string, cookie?: string): Promise<Response> {
    return this.request(path, { cookie });
  }

  post(path: string, form: Record<string, string> = {}, cookie?: string): Promise<Response> {
    return this.request(path, { method: 'POST', form, cookie });
  }

  /** A form post from an old browser: no Fetch Metadata, no Origin. */
  legacyPost(path: string, form: Record<string, string>): Promise<Response> {
    return this.request(path, { method: 'POST', form, fetchMetadata: false });
  }
}

/** A form another site's page posts to the app, with the cookies the browser holds for it. */
export function crossSitePost(url: string, path: string, cookie: string): Promise<Response> {
  return fetch(url + path, {
    method: 'POST',
    headers: { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'note=evil&username=mallory',
    redirect: 'manual',
  });
}

/** The value with one character in the middle changed. */
export function tamper(value: string): string {
  const at = Math.floor(value.length / 2);
  return value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1);
}
