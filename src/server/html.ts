/**
 * Server-rendered HTML for the dashboard and the demo: a tagged template
 * that escapes every interpolated value, and one page shell with the shared
 * stylesheet. No build step, no client framework. The few pages with a
 * script carry it inline, and their Content-Security-Policy allows exactly
 * that script by its SHA-256 hash: never `'unsafe-inline'`, never an inline
 * event handler, so markup injected into a page could run nothing.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** HTML that is already safe to emit. Only {@link html} and {@link raw} make one. */
export class SafeHtml {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

/** Marks trusted markup (a constant, never user input) as safe. */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof SafeHtml) return part.toString();
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(part);
}

/**
 * The template tag: `html\`<p>${name}</p>\`` escapes `name`; nested `html`
 * results and arrays of them are kept as markup; `null`, `undefined` and
 * `false` render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) out += render(values[i] as Part) + (strings[i + 1] as string);
  return new SafeHtml(out);
}

/** A link of the page header. */
export interface NavLink {
  readonly href: string;
  readonly label: string;
  readonly current?: boolean;
}

/** Options of {@link page}. */
export interface PageOptions {
  readonly title: string;
  /** Shown left in the header, e.g. "latchkey admin". */
  readonly brand: string;
  readonly nav?: readonly NavLink[];
  /** Right-hand side of the header (e.g. the signed-in user and a sign-out form). */
  readonly aside?: SafeHtml;
  readonly body: SafeHtml;
  /** A short flash message shown above the body. */
  readonly notice?: { readonly kind: 'ok' | 'error'; readonly text: string } | null;
  /**
   * Inline script (trusted constant text) for the few interactive bits. Send
   * the page with `htmlHeaders(script)`, whose policy allows this exact text.
   */
  readonly script?: string;
  /**
   * A module script served by the service itself (a same-origin path), for
   * a page that is an application. Send the page with
   * `htmlHeaders(undefined, { modules: true })`.
   */
  readonly module?: string;
}

/** A whole HTML document with the shared stylesheet. */
export function page(o: PageOptions): string {
  const nav = (o.nav ?? []).map((l) => html`<a href="${l.href}"${l.current ? raw(' aria-current="page"') : ''}>${l.label}</a>`);
  const notice = o.notice ? html`<p class="notice ${o.notice.kind}" role="status">${o.notice.text}</p>` : '';
  const script = o.script ? raw(`<script>${o.script}</script>`) : o.module ? html`<script type="module" src="${o.module}"></script>` : '';
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${o.title}</title><style>${raw(STYLE)}</style></head><body><header><strong class="brand">${o.brand}</strong><nav>${nav}</nav><div class="aside">${o.aside ?? ''}</div></header><main>${notice}${o.body}</main>${script}</body></html>`}`;
}

/**
 * Security headers for every HTML page: no framing, no referrer, and no
 * script but `script`, the page's own inline script (allowed by its hash);
 * without one, no script at all. With `modules: true` (an application page),
 * scripts served by the service itself and nothing inline, with Trusted
 * Types required, so that no script can write markup into the page.
 *
 * @example
 * ```ts
 * reply.headers(htmlHeaders(OVERVIEW_SCRIPT)).send(page({ title, brand, body, script: OVERVIEW_SCRIPT }));
 * ```
 */
export function htmlHeaders(script?: string, options: { modules?: boolean } = {}): Record<string, string> {
  const modules = options.modules === true;
  const scripts = modules ? "'self'" : script === undefined ? "'none'" : scriptSource(script);
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'; script-src ${scripts}${modules ? "; require-trusted-types-for 'script'" : ''}`,
  };
}

const sources = new Map<string, string>();

/** `'sha256-…'` of a script's exact text (CSP Level 2 hash source); the scripts are a few constants, hashed once each. */
function scriptSource(script: string): string {
  let source = sources.get(script);
  if (source === undefined) {
    source = `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;
    if (sources.size < 16) sources.set(script, source);
  }
  return source;
}

const STYLE = `
:root{--fg:#1b1f24;--muted:#5b6470;--line:#e3e6ea;--bg:#f6f7f9;--card:#fff;--accent:#2457d6;--danger:#c0392b;--ok:#1e7f4f;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}
header{display:flex;align-items:center;gap:1.5rem;padding:.75rem 1.5rem;background:var(--card);border-bottom:1px solid var(--line)}
.brand{font-size:1.05rem}nav{display:flex;gap:1rem;flex:1}nav a{color:var(--muted);text-decoration:none}nav a[aria-current=page]{color:var(--fg);font-weight:600}
.aside{display:flex;gap:.75rem;align-items:center;color:var(--muted);font-size:.9rem}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .6rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin-bottom:1rem}
.card>:first-child{margin-top:0}.card>:last-child{margin-bottom:0}
.narrow{max-width:24rem;margin:3rem auto}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.75rem;margin-bottom:1rem}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}.stat b{display:block;font-size:1.5rem}.stat span{color:var(--muted);font-size:.85rem}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:.55rem .75rem;border-bottom:1px solid var(--line);font-size:.9rem;vertical-align:middle}th{background:#fafbfc;color:var(--muted);font-weight:600}
tr:last-child td{border-bottom:0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
label{display:block;margin:.6rem 0 .25rem;font-size:.9rem;color:var(--muted)}
input[type=text],input[type=password],input[type=search]{width:100%;padding:.5rem .6rem;border:1px solid var(--line);border-radius:6px;font:inherit}
button,.button{display:inline-block;padding:.45rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;font:inherit;cursor:pointer;text-decoration:none}
button.secondary{background:var(--card);color:var(--accent)}button.danger{background:var(--danger);border-color:var(--danger)}
form.inline{display:inline}.row{display:flex;gap:.5rem;align-items:end}.row>*{flex:1}.row>button{flex:0}
.notice{padding:.6rem .9rem;border-radius:6px;margin:0 0 1rem}.notice.ok{background:#e7f5ee;color:var(--ok)}.notice.error{background:#fbeaea;color:var(--danger)}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.75rem;background:#eef2fb;color:var(--accent)}.badge.warn{background:#fbeaea;color:var(--danger)}
.muted{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:.75rem;margin-bottom:1rem}
figure.chart{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem;min-width:0}
figure.chart svg{display:block;width:100%;height:auto;margin-top:.4rem}figcaption{font-size:.9rem}
@media (max-width:640px){header{flex-wrap:wrap;gap:.5rem 1rem;padding:.6rem .75rem}nav{flex-basis:100%;order:3;flex-wrap:wrap}.aside{flex-wrap:wrap}main{padding:0 .75rem;margin:1rem auto}.row{flex-wrap:wrap}.row>button{flex:1 0 100%}.narrow{margin:1.5rem auto}}
@media (pointer:coarse),(max-width:640px){button,.button{min-height:44px;min-width:44px}nav a{padding:.6rem 0}}
`;
