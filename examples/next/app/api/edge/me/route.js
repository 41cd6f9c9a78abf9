/* global Response */
// Edge route handlers: the same session as on Node.js, read and written on
// Next.js's edge runtime (sealed mode, or remote mode through the session
// service). latchkey's own CSRF defence covers the POST.
import { runtime as where, session } from '../../../../lib/session.js';

export const runtime = 'edge';

const notesOf = (s) => (s.isAuthenticated && Array.isArray(s.get('notes')) ? s.get('notes') : []);

export const GET = session.route(async (_request, s) => {
  await s.load();
  if (!s.isAuthenticated) return Response.json({ error: 'unauthenticated', runtime: where }, { status: 401 });
  return Response.json({ user: s.userId, notes: notesOf(s), runtime: where });
});

// Adds a note to the session: { note } in a JSON body.
export const POST = session.route(async (request, s) => {
  await s.load();
  s.requireUser();
  const body = await request.json().catch(() => ({}));
  const note = String(body.note ?? '').slice(0, 200);
  s.set('notes', [...notesOf(s), note]);
  return Response.json({ user: s.userId, notes: notesOf(s), runtime: where });
});
