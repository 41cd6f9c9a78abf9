/* global Response */
// Access-token verification on the edge runtime: `Authorization: Bearer`,
// checked with the keys of TOKEN_KEYS; 401 with WWW-Authenticate otherwise.
import { tokenGuard } from 'latchkey/fetch';
import { runtime as where } from '../../../../lib/session.js';
import { tokenTransport } from '../../../../lib/tokens.js';

export const runtime = 'edge';

export async function GET(request) {
  const guarded = tokenGuard(await tokenTransport())(async (_request, token) => Response.json({ user: token.sub, runtime: where }));
  return guarded(request);
}
