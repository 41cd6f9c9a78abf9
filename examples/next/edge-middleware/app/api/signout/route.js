/* global Response */
// Sign-out on the edge: the session ends (sealed: its revocation record is kept
// by this isolate; remote: the session service ends it) and its cookie is cleared.
import { session } from '../../../../lib/session.js';

export const runtime = 'edge';

export const POST = session.route(async (_request, s) => {
  await s.load();
  if (s.isAuthenticated) await s.logout();
  return new Response(null, { status: 303, headers: { location: '/' } });
});
