// Bundles examples/workers/worker.js and the latchkey modules it imports into
// one ES module for workerd (workerd resolves no package names). Run after
// `npm run build`: node examples/workers/build.js [outfile] [entry module]
// Resolved with workerd's conditions, latchkey takes its Web primitives
// (Web Crypto, no node: module), so the worker needs no nodejs_compat.
import { build } from 'rolldown';
import { join } from 'node:path';

const out = process.argv[2] ?? join(import.meta.dirname, 'dist', 'worker.js');
await build({
  input: process.argv[3] ?? join(import.meta.dirname, 'worker.js'),
  platform: 'neutral',
  resolve: { conditionNames: ['workerd', 'worker', 'import', 'default'], mainFields: ['module', 'main'] },
  // The runtime's own modules: cloudflare:workers (and node:*, which latchkey does not import, under nodejs_compat).
  external: [/^cloudflare:/, /^node:/],
  output: { file: out, format: 'esm' },
  logLevel: 'warn',
});
console.log(`bundled ${out}`);
