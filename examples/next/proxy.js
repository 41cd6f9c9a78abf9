/* global Response */
// Next 16's proxy (formerly middleware), on the Node runtime: it checks the
// session before /api/me runs, and answers 401 without one.
import { NextResponse } from 'next/server';
import { session } from './lib/session.js';

export const proxy = session.route(async (_request, s) => {
  await s.load();
  if (!s.isAuthenticated) return Response.json({ error: 'unauthenticated' }, { status: 401, headers: { 'x-refused-by': 'proxy' } });
  return NextResponse.next();
});

// Only the Node.js route handler: the edge routes (app/api/edge) check their own sessions and tokens.
export const config = { matcher: ['/api/me'] };
