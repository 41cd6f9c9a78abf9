/** A minimal HTTP client for the scenarios: explicit cookies, full control over headers. */
export interface Reply {
  status: number;
  headers: Headers;
  setCookies: string[];
  body: Record<string, unknown>;
  text: string;
}

export interface Call {
  method?: string;
  cookie?: string | null;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  json?: Record<string, unknown>;
  ip?: string;
}

export async function call(base: string, path: string, c: Call = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  if (c.cookie != null) headers.cookie = c.cookie;
  if (c.ip !== undefined) headers['x-forwarded-for'] = c.ip;
  let body: string | undefined;
  if (c.form !== undefined) {
    body = new URLSearchParams(c.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (c.json !== undefined) {
    body = JSON.stringify(c.json);
    headers['content-type'] = 'application/json';
  }
  const method = c.method ?? (body !== undefined ? 'POST' : 'GET');
  if (method !== 'GET' && headers['sec-fetch-site'] === undefined && !('no-fetch-metadata' in headers)) headers['sec-fetch-site'] = 'same-origin';
  delete headers['no-fetch-metadata'];
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    parsed = {};
  }
  return { status: res.status, headers: res.headers, setCookies: res.headers.getSetCookie(), body: parsed, text };
}

/** The token a Set-Cookie line gives the named cookie, or null. */
export function cookieValue(setCookies: string[], name = '__Host-session'): string | null {
  for (const line of setCookies) {
    if (line.startsWith(`${name}=`)) return line.slice(name.length + 1, line.indexOf(';'));
  }
  return null;
}

export function cookieHeader(token: string, name = '__Host-session'): string {
  return `${name}=${token}`;
}
