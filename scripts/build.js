// Builds dist/ from src/ with tsc (tsconfig.build.json, then tsconfig.browser.json for latchkey/browser
// when there is one: the browser code is compiled with the DOM library, the rest without), then stamps it: dist/.build-stamp holds a
// SHA-256 of everything the output depends on (every file under src/, the tsconfig files, this
// script and TypeScript's version). With --if-stale, a dist/ whose stamp matches is left alone, so
// that `npm start` answers in about a second instead of recompiling for 13 s; any change of content
// (not of mtime: a checkout or a copy keeps the stamp valid, an edit never does) rebuilds.
//
//   node scripts/build.js             always build (npm run build)
//   node scripts/build.js --if-stale  build only when dist/ is not the build of the sources as they are
//
// The build goes to a private dist.tmp-<pid>/ and replaces dist/ only once it succeeded, so that a
// failed build leaves the previous one in place and two builds at once never mix their files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { argv, cwd, exit, pid } from 'node:process';
import { fileURLToPath } from 'node:url';

const root = cwd();
const STAMP = '.build-stamp';
const dist = join(root, 'dist');

/** A hash of the build's inputs: paths and contents, in a stable order. */
function inputsHash(dir) {
  const hash = createHash('sha256');
  const add = (file) => {
    hash.update(`${relative(dir, file).split(sep).join('/')}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  };
  const src = join(dir, 'src');
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  for (const file of files) add(file);
  for (const name of ['tsconfig.json', 'tsconfig.build.json', 'tsconfig.browser.json']) if (existsSync(join(dir, name))) add(join(dir, name));
  add(fileURLToPath(import.meta.url));
  const typescript = JSON.parse(readFileSync(createRequire(join(dir, 'package.json')).resolve('typescript/package.json'), 'utf8')).version;
  hash.update(`typescript@${typescript}`);
  return hash.digest('hex');
}

function upToDate(hash) {
  const stamp = join(dist, STAMP);
  return existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash;
}

const ifStale = argv.includes('--if-stale');
const hash = inputsHash(root);
if (ifStale && upToDate(hash)) {
  console.log('dist/ is up to date with src/ (build skipped; npm run build forces one)');
  exit(0);
}

const started = performance.now();
const out = join(root, `dist.tmp-${pid}`);
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const configs = ['tsconfig.build.json', 'tsconfig.browser.json'].filter((name) => existsSync(join(root, name)));
let result = { status: 0 };
for (const config of configs) {
  result = spawnSync(process.execPath, [tsc, '-p', config, '--outDir', out], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) break;
}
if (result.status !== 0) {
  rmSync(out, { recursive: true, force: true });
  console.error(`build failed (tsc exit code ${result.status ?? result.signal}); dist/ is unchanged`);
  exit(1);
}
// The executables of package.json's "bin" (./dist/cli/main.js) run as programs.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const target of Object.values(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {}))) {
  const built = join(out, relative('dist', target));
  if (existsSync(built)) chmodSync(built, 0o755);
}
// Bundlers that honour tsconfig "paths" (Next.js's Turbopack, esbuild) take the nearest tsconfig.json above each
// file: for dist/ inside this repository that is the root one, whose "#primitives" path (src/core/primitives/node.ts,
// for type-checking) would put node:crypto into edge bundles of the examples. An empty one in dist/ stops that
// lookup; it is not shipped (package.json "files"), since an installed package has no tsconfig above it.
writeFileSync(join(out, 'tsconfig.json'), '{}\n');
// Stamped with the hash taken before compiling: a source edited during the build makes the stamp stale.
writeFileSync(join(out, STAMP), `${hash}\n`);
for (let attempt = 0; ; attempt++) {
  rmSync(dist, { recursive: true, force: true });
  try {
    renameSync(out, dist);
    break;
  } catch (err) {
    // Another build put its dist/ in place between the two calls: replace it.
    if (attempt >= 5 || (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST')) throw err;
  }
}
console.log(`built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
