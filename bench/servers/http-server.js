/**
 * One HTTP server of the HTTP benchmark, started in its own process by
 * bench/http.bench.js: `node bench/servers/http-server.js <variant> [store]`.
 *
 * Variants: express-latchkey, express-session, express-bare, node-latchkey,
 * node-bare. Stores (latchkey only): memory, sqlite.
 *
 * Routes, the same everywhere:
 *   POST /login   signs in (sets the cookie the load generator then sends)
 *   GET  /read    reads the session and answers the user id
 *   POST /write   writes one data key
 *   GET  /anon    reads the session of a visitor without a cookie
 *
 * It talks to its parent over IPC: it sends { port } once listening; on
 * 'reset' it zeroes its request counter and CPU baseline; on 'report' it
 * answers { cpuMicros, requests }, its own process CPU time since the reset.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import expressSession from 'express-session';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { sqliteStore } from 'latchkey/stores/sqlite';
import { latchkey as expressLatchkey } from 'latchkey/express';
import { latchkey as nodeLatchkey } from 'latchkey/node';

const [variant, storeName = 'memory'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
const store = storeName === 'sqlite' ? sqliteStore({ path: join(dir, 'sessions.db') }) : memoryStore();
const sessions = createSessions({ store, idleTimeout: '30m', absoluteTimeout: '12h' });
// The load generator runs over plain HTTP on 127.0.0.1.
const http = { sessions, development: true, cookie: { secure: false } };

let counter = 0;
const body = (user) => `hello ${user ?? 'visitor'}`;

function expressApp() {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (variant === 'express-latchkey') {
    app.use(expressLatchkey(http));
    app.post('/login', async (req, res) => {
      await req.session.login('bench-user');
      res.send('ok');
    });
    app.get(['/read', '/anon'], async (req, res) => {
      const session = await req.session.load();
      res.send(body(session.userId));
    });
    app.post('/write', (req, res) => {
      req.session.set('n', ++counter);
      res.send('ok');
    });
  } else if (variant === 'express-session') {
    app.use(
      expressSession({
        secret: 'bench-secret-bench-secret-bench-secret',
        resave: false,
        saveUninitialized: false,
        cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 12 * 3600 * 1000 },
      }),
    );
    app.post('/login', (req, res, next) => {
      req.session.regenerate((err) => {
        if (err) return next(err);
        req.session.userId = 'bench-user';
        res.send('ok');
      });
    });
    app.get(['/read', '/anon'], (req, res) => res.send(body(req.session.userId)));
    app.post('/write', (req, res) => {
      req.session.n = ++counter;
      res.send('ok');
    });
  } else {
    // Async like the latchkey handlers, so that the difference is the session, not the promise.
    app.post('/login', async (_req, res) => res.send('ok'));
    app.get(['/read', '/anon'], async (_req, res) => res.send(body(null)));
    app.post('/write', async (_req, res) => {
      ++counter;
      res.send('ok');
    });
  }
  return createServer(app);
}

function send(res, text) {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function nodeApp() {
  if (variant === 'node-latchkey') {
    const withSession = nodeLatchkey(http);
    return createServer(
      withSession(async (req, res, session) => {
        if (req.url === '/login') {
          await session.login('bench-user');
          return send(res, 'ok');
        }
        if (req.url === '/write') {
          session.set('n', ++counter);
          return send(res, 'ok');
        }
        await session.load();
        send(res, body(session.userId));
      }),
    );
  }
  return createServer(async (req, res) => {
    if (req.url === '/write') ++counter;
    send(res, req.url === '/login' || req.url === '/write' ? 'ok' : body(null));
  });
}

const server = variant.startsWith('express') ? expressApp() : nodeApp();
let requests = 0;
let baseline = process.cpuUsage();
server.on('request', () => requests++);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

process.on('message', (msg) => {
  if (msg === 'reset') {
    requests = 0;
    baseline = process.cpuUsage();
    process.send({ reset: true });
  } else if (msg === 'report') {
    const cpu = process.cpuUsage(baseline);
    process.send({ cpuMicros: cpu.user + cpu.system, requests });
  } else if (msg === 'stop') {
    server.closeAllConnections();
    server.close(async () => {
      await sessions.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
