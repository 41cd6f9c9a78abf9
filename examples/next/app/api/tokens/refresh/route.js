// Token mode's refresh, on Node.js: { refresh_token } in, a new pair out (the
// old refresh token is used up; presenting it again ends the family).
import { tokenRefresh } from 'latchkey/fetch';
import { tokenTransport } from '../../../../lib/tokens.js';

export async function POST(request) {
  return tokenRefresh(await tokenTransport())(request);
}
