// The HTML every example serves: the same pages whatever the framework, so
// the adapters can be compared side by side. Plain template strings, escaped.

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The home page: a sign-in form for visitors; the session, the user's
 * devices and the two sign-out buttons once signed in.
 */
export function homePage(session, devices = []) {
  if (!session.isAuthenticated) {
    return layout(`
      <h1>Sign in</h1>
      <form method="post" action="/login">
        ${csrfField(session)}
        <label>Name <input name="username" required autocomplete="username"></label>
        <button>Sign in</button>
      </form>`);
  }
  const rows = devices
    .map((d) => `<li>${escape(d.device.browser)} on ${escape(d.device.os)}${d.handle === session.handle ? ' (this device)' : ''}</li>`)
    .join('');
  return layout(`
    <h1>Signed in as ${escape(session.userId)}</h1>
    <p>Session handle <code>${escape(session.handle)}</code>, visits ${escape(session.get('visits') ?? 0)}.</p>
    <h2>Your devices</h2><ul>${rows}</ul>
    <form method="post" action="/logout">${csrfField(session)}<button>Sign out</button></form>
    <form method="post" action="/logout-everywhere">${csrfField(session)}<button>Sign out everywhere</button></form>`);
}

function csrfField(session) {
  const token = session.csrfToken;
  return token === null ? '' : `<input type="hidden" name="_csrf" value="${escape(token)}">`;
}

function layout(body) {
  return `<!doctype html><meta charset="utf-8"><title>latchkey example</title>${body}\n`;
}

/** latchkey options for local runs: plain HTTP is allowed only outside production. */
export function localOptions() {
  const production = process.env.NODE_ENV === 'production';
  return { development: !production, cookie: { secure: production } };
}

export const port = Number(process.env.PORT ?? 3000);
