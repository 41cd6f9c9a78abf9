/* global Response */
// A route handler: the Fetch API's Request in, Response out, with the session.
// latchkey's own CSRF defence covers its unsafe methods.
import { session } from '../../../lib/session.js';

export const GET = session.route(async (_request, s) => {
  await s.load();
  return Response.json({ user: s.userId, notes: s.isAuthenticated ? (s.get('notes') ?? []) : [] });
});
