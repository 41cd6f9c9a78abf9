import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { securityFeed } from '../../src/server/feed.js';
import { createMetrics } from '../../src/server/metrics.js';

describe('metrics', () => {
  it('render counters and histograms in the Prometheus text format, escaping label values', () => {
    const m = createMetrics();
    m.validated.inc({ result: 'valid' });
    m.validated.inc({ result: 'valid' });
    m.validated.inc({ result: 'revoked' });
    m.requestDuration.observe({ method: 'POST', route: '/v1/x"y\\z\n', status: '200' }, 0.003);
    m.requestDuration.observe({ method: 'POST', route: '/v1/x"y\\z\n', status: '200' }, 0.2);
    const text = m.render();
    expect(text).toContain('# TYPE latchkey_sessions_validated_total counter\n');
    expect(text).toContain('latchkey_sessions_validated_total{result="valid"} 2\n');
    expect(text).toContain('latchkey_sessions_validated_total{result="revoked"} 1\n');
    expect(text).toContain('latchkey_store_errors_total 0\n');
    const labels = 'method="POST",route="/v1/x\\"y\\\\z\\n",status="200"';
    expect(text).toContain(`latchkey_http_request_duration_seconds_bucket{${labels},le="0.0025"} 0\n`);
    expect(text).toContain(`latchkey_http_request_duration_seconds_bucket{${labels},le="0.005"} 1\n`);
    expect(text).toContain(`latchkey_http_request_duration_seconds_bucket{${labels},le="0.25"} 2\n`);
    expect(text).toContain(`latchkey_http_request_duration_seconds_bucket{${labels},le="+Inf"} 2\n`);
    expect(text).toContain(`latchkey_http_request_duration_seconds_count{${labels}} 2\n`);
    expect(m.snapshot()).toMatchObject({ validations: 3, rejected: 1, rejectedByReason: { revoked: 1 }, requests: 2 });
  });

  it('count an engine\'s lifecycle events, and the feed keeps its security events, newest first and bounded', async () => {
    const m = createMetrics();
    const feed = securityFeed(3);
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false, guessing: { threshold: 2, window: '1m' } });
    m.watch(sessions, 'session');
    feed.watch(sessions, 'session');
    const { token } = await sessions.create({ userId: 'u1', client: { ip: '198.51.100.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0' } });
    await sessions.rotate(token);
    await sessions.revokeUser('u1');
    for (let i = 0; i < 3; i++) await sessions.validate(`${'A'.repeat(22)}.${'B'.repeat(43)}`, { client: { ip: '203.0.113.9' } });
    expect(m.snapshot()).toMatchObject({ sessionsCreated: 1, rotated: 1, revoked: 1, byKind: { session: { created: 1, rotated: 1, revoked: 1 } } });
    expect(feed.recent().find((e) => e.kind === 'new-device')?.sessionKind).toBe('session');
    const kinds = feed.recent().map((e) => e.kind);
    expect(kinds).toContain('new-device');
    expect(kinds).toContain('invalid-token-burst');
    for (let i = 0; i < 5; i++) feed.push({ at: i, kind: 'revoked-all', userId: 'u', sessionKind: null, handle: null, ip: null, detail: String(i) });
    expect(feed.recent().filter((e) => e.kind === 'revoked-all').map((e) => e.detail)).toEqual(['4', '3', '2']);
    // A flood of new devices (anyone can sign in on the demo) never pushes an alert out.
    feed.push({ at: 9, kind: 'token-theft', userId: 'u', sessionKind: 'refresh', handle: null, ip: null, detail: 'theft' });
    for (let i = 0; i < 50; i++) feed.push({ at: 10 + i, kind: 'new-device', userId: 'u', sessionKind: 'demo', handle: null, ip: null, detail: `d${i}` });
    expect(feed.recent(100).some((e) => e.kind === 'token-theft')).toBe(true);
    expect(feed.recent(100).filter((e) => e.kind === 'new-device')).toHaveLength(3);
    expect(feed.recent(2).map((e) => e.detail)).toEqual(['d49', 'd48']);
    expect(JSON.stringify(feed.recent())).not.toContain(token);
  });
});

describe('counters that say what they count', () => {
  it('split the lifecycle counters by engine, named by its kind, in the snapshot and in the exposition', async () => {
    const m = createMetrics();
    const store = memoryStore();
    const app = createSessions({ store, sweepInterval: false });
    const demo = createSessions({ store, sweepInterval: false, kind: 'demo' });
    m.watch(app, 'session');
    m.watch(demo, 'demo');
    await app.create({ userId: 'alice' });
    await app.create({ userId: 'alice' });
    const d = await demo.create({ userId: 'alice' });
    await demo.rotate(d.token);
    await app.revokeUser('alice');
    const snapshot = m.snapshot();
    // The application's "log out everywhere" ended the demo's session too: the engine that revoked counts it.
    expect(snapshot.byKind).toEqual({ session: { created: 2, revoked: 3, rotated: 0 }, demo: { created: 1, revoked: 0, rotated: 1 } });
    expect(snapshot.sessionsCreated).toBe(3);
    expect(snapshot.revoked).toBe(3);
    const text = m.render();
    expect(text).toContain('latchkey_sessions_created_total{engine="session"} 2\n');
    expect(text).toContain('latchkey_sessions_created_total{engine="demo"} 1\n');
    expect(text).toContain('latchkey_sessions_rotated_total{engine="demo",cause="manual"} 1\n');
    expect(text).toContain('latchkey_sessions_revoked_total{engine="session",cause="user"} 3\n');
  });
});
