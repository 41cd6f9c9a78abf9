/* global Response */
// Edge middleware: Next 16 still runs middleware.js (deprecated in favour of
// proxy.js) on the edge runtime, the only place left for it. It checks the
// session before /api/me runs, answers 401 without one, and tells which
// runtime checked (x-checked-on).
import { NextResponse } from 'next/server';
import { runtime, session } from '../lib/session.js';

export const middleware = session.route(async (_request, s) => {
  await s.load();
  if (!s.isAuthenticated) {
    return Response.json({ error: 'unauthenticated' }, { status: 401, headers: { 'x-refused-by': 'middleware', 'x-checked-on': runtime } });
  }
  return NextResponse.next({ headers: { 'x-checked-on': runtime } });
});

export const config = { matcher: ['/api/me'] };
