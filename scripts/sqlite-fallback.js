#!/usr/bin/env node
// Part of `npm install` in a checkout (the `prepare` script): builds
// better-sqlite3's native module only where latchkey needs it, on a Node
// without its own SQLite (Node 20; `node:sqlite` is there from Node 22.13).
// package.json's `allowScripts` keeps npm from running better-sqlite3's own
// install script, so that on Node 22.13+ and 24 `npm install && npm start`
// compiles nothing: the SQLite store runs on node:sqlite there.
//
//   node scripts/sqlite-fallback.js          build it if this Node needs it and it is not loadable
//   node scripts/sqlite-fallback.js --force  build it whatever the Node (to test the fallback on Node 24)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const pkg = join(root, 'node_modules', 'better-sqlite3');
const require = createRequire(join(root, 'package.json'));

function hasOwnSqlite() {
  try {
    return typeof process.getBuiltinModule?.('node:sqlite')?.DatabaseSync === 'function';
  } catch {
    return false;
  }
}

function loadable() {
  try {
    const Database = require('better-sqlite3');
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}

const force = process.argv.includes('--force');
if (!existsSync(pkg)) process.exit(0); // installed without devDependencies: nothing to build
if (!force && hasOwnSqlite()) {
  console.log(`sqlite-fallback: Node ${process.version} has node:sqlite; better-sqlite3 not built`);
  process.exit(0);
}
if (loadable()) process.exit(0);
const started = Date.now();
console.log(`sqlite-fallback: building better-sqlite3 for Node ${process.version} (its install script, which npm does not run on its own here)`);
// What its package.json's install script does: a prebuilt binary if one can be fetched, else a build from source.
const built = spawnSync('sh', ['-c', 'prebuild-install || node-gyp rebuild --release'], {
  cwd: pkg,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${join(process.execPath, '..')}:${process.env.PATH}` },
});
if (built.status !== 0 || !loadable()) {
  console.error('sqlite-fallback: better-sqlite3 could not be built; the SQLite store needs Node 22.13+ (node:sqlite) or a working better-sqlite3');
  process.exit(1);
}
console.log(`sqlite-fallback: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
