// Token mode's sign-in, on Node.js: a new access and refresh token for
// { username } (check a password here; latchkey only manages the session).
import { issueTokens } from 'latchkey/fetch';
import { tokenTransport } from '../../../lib/tokens.js';

export async function POST(request) {
  const body = await request.clone().json().catch(() => ({}));
  const username = String(body.username ?? '').trim() || 'guest';
  return issueTokens(request, await tokenTransport(), { userId: username });
}
