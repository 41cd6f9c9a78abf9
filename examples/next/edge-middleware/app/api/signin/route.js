/* global Response */
// Sign-in on the edge (a form post): check the password here; latchkey only
// manages the session. Its cookie goes on the redirect.
import { session } from '../../../../lib/session.js';

export const runtime = 'edge';

export const POST = session.route(async (request, s) => {
  const form = await request.formData();
  const username = String(form.get('username') ?? '').trim() || 'guest';
  await s.login(username, { authLevel: 1 });
  return new Response(null, { status: 303, headers: { location: '/' } });
});
