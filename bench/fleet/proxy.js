/**
 * The fleet benchmark's load balancer, in its own process: a small
 * round-robin HTTP proxy on 127.0.0.1 (one keep-alive agent per instance,
 * the next instance for each request, bodies streamed both ways), as a
 * deployment would put in front of several instances.
 *
 *   node bench/fleet/proxy.js <port>[,<port>...]
 *
 * Over IPC it sends { port } once listening; a request an instance cannot
 * take is answered 502 (counted by the benchmark as a 5xx).
 */
import http from 'node:http';

const targets = process.argv[2].split(',').map((p) => ({ port: Number(p), agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) }));
let next = 0;
const server = http.createServer((req, res) => {
  const t = targets[next];
  next = (next + 1) % targets.length;
  const upstream = http.request({ host: '127.0.0.1', port: t.port, method: req.method, path: req.url, headers: req.headers, agent: t.agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway');
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'stop') process.exit(0);
});
