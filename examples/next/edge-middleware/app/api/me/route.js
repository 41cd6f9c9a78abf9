/* global Response */
// An edge route handler behind the edge middleware.
import { runtime as where, session } from '../../../../lib/session.js';

export const runtime = 'edge';

export const GET = session.route(async (_request, s) => {
  await s.load();
  if (!s.isAuthenticated) return Response.json({ error: 'unauthenticated' }, { status: 401 });
  return Response.json({ user: s.userId, runtime: where });
});
