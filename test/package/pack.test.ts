/**
 * The package as npm ships it, used as the README says. `npm pack` makes the
 * tarball; a scratch project installs it with exactly the packages that the
 * README's Install section names; every TypeScript (and JavaScript) snippet
 * of the README is compiled there as it stands, with the strictest settings
 * a user may have (strict, exactOptionalPropertyTypes,
 * noUncheckedIndexedAccess, skipLibCheck false, NodeNext; with a NestJS
 * project's experimentalDecorators and emitDecoratorMetadata, which change
 * nothing for snippets without decorators); the Quick start runs; and the
 * Koa and NestJS examples, copied from the installed package into the
 * project, run there (the NestJS one compiled with its own tsconfig). The README is parsed on every run: edit it, and this follows.
 *
 * Snippets: ```ts blocks are compiled as .ts files, ```js blocks as .js files
 * with checkJs under the same settings; each is a module of its own, so a
 * snippet must declare (or import) everything it uses. Other blocks (sh,
 * text...) are not compiled.
 *
 * Offline apart from npm's registry: packages come from npm's cache when it
 * has them (`--prefer-offline`), at the versions this project's own suites
 * use (its devDependencies), and better-sqlite3's native addon is copied from
 * this project's node_modules (same version, same Node) instead of being
 * downloaded or compiled by its install script.
 *
 * The scratch project also runs docs/migrating.md's express-session recipe
 * (`before.js`, then `after.js`, with the packages that recipe names) on
 * real Redis: a user signed in before the switch is signed in after it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, root } from '../cli/built.js';
import { createClient } from 'redis';
import { freePort, redisAvailable, startRedis } from '../servers/redis.js';
import { migrationFiles, recipePackages, runRecipe } from './migration.js';
import { startExample, walkExample, type RunningExample } from '../adapters/support/examples.js';
import { codeBlocks, installedPackages, relativeLinks, section, splitSpec, withinRange, type Snippet } from './readme.js';

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

let scratch: string;
let app: string;
/** What tsc said about the snippets, once for every test. */
let compile: { status: number | null; output: string };
/** Paths in the tarball, relative to the package root. */
let shipped: Set<string>;
/** The project's TypeScript compiler: the one the Install section installs, else this project's. */
let tsc: string;

/** npm as a user runs it: none of the npm_* variables of an `npm test` around this test. */
function npm(args: string[], cwd: string): string {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return execFileSync('npm', args, { cwd, env: { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The compiled snippets: `readme-<fence line>.ts` (or .js). */
const snippetFile = (s: Snippet): string => `readme-${s.line}.${s.lang === 'ts' || s.lang === 'typescript' ? 'ts' : 'js'}`;
const compiled = codeBlocks(readme).filter((b) => ['ts', 'typescript', 'js', 'javascript'].includes(b.lang));

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'latchkey-pack-'));
  const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (packed === undefined) throw new Error('npm pack made no tarball');
  shipped = new Set(packed.files.map((f) => f.path));

  app = join(scratch, 'app');
  mkdirSync(join(app, 'snippets'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readme-check', private: true, type: 'module' }));
  // The version this project tests with, when the README's range allows it; else what the README says.
  const specs = installedPackages(section(readme, 'Install')).map((spec) => {
    const { name, range } = splitSpec(spec);
    if (name === 'latchkey') return join(scratch, packed.filename);
    const ours = pkg.devDependencies[name];
    return ours !== undefined && withinRange(ours, range) ? `${name}@${ours}` : spec;
  });
  npm(['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', ...specs], app);
  const sqlite = join(app, 'node_modules', 'better-sqlite3');
  if (existsSync(sqlite)) {
    const version = (dir: string): string => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    const ours = join(root, 'node_modules', 'better-sqlite3');
    if (version(sqlite) === version(ours)) {
      mkdirSync(join(sqlite, 'build', 'Release'), { recursive: true });
      copyFileSync(join(ours, 'build', 'Release', 'better_sqlite3.node'), join(sqlite, 'build', 'Release', 'better_sqlite3.node'));
    } else {
      npm(['rebuild', 'better-sqlite3'], app);
    }
  }

  for (const s of compiled) writeFileSync(join(app, 'snippets', snippetFile(s)), s.code);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        verbatimModuleSyntax: true,
        moduleDetection: 'force',
        allowJs: true,
        checkJs: true,
        // The README's Install section: @types/koa 3.0.3 types ctx.attachment() with the Options of
        // @types/content-disposition, and Express 5 brings content-disposition 2, whose own types
        // (found first) have none; a project with both maps the types back.
        paths: { 'content-disposition': ['./node_modules/@types/content-disposition/index.d.ts'] },
        rootDir: 'snippets',
        outDir: 'out',
      },
      include: ['snippets'],
    }),
  );
  const local = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
  tsc = existsSync(local) ? local : join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app, encoding: 'utf8' });
  compile = { status: r.status, output: `${r.stdout}${r.stderr}` };
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** tsc's diagnostics, each placed on its README line when it is a snippet's; those of packages' types folded after 10. */
function diagnostics(output: string): string[] {
  const problems: string[] = [];
  let elsewhere = 0;
  for (const line of output.split('\n')) {
    const m = /^snippets\/readme-(\d+)\.(?:ts|js)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (m !== null) {
      const fence = Number(m[1]);
      const snippet = compiled.find((s) => s.line === fence) as Snippet;
      const at = fence + Number(m[2]);
      const source = readme.split('\n')[at - 1]?.trim() ?? '';
      problems.push(`README.md:${at}:${m[3]} (the \`\`\`${snippet.lang} block of line ${fence}, under "${snippet.heading}"): ${m[4]} ${m[5]}\n      ${source}`);
    } else if (/: error TS\d+:/.test(line)) {
      if (++elsewhere <= 10) problems.push(`${line} (not in a snippet: the package's types, or a package the Install section does not name)`);
    } else if (/^\s+\S/.test(line) && problems.length > 0) {
      problems[problems.length - 1] += `\n    ${line.trim()}`;
    }
  }
  if (elsewhere > 10) problems.push(`... and ${elsewhere - 10} more errors outside the snippets`);
  return problems;
}

describe('the npm package', () => {
  it('ships every file that the README and the shipped docs link to', () => {
    const missing: string[] = [];
    const check = (file: string): void => {
      const base = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
      for (const link of relativeLinks(readFileSync(join(root, file), 'utf8'))) {
        if (link.target === '') continue;
        const target = new URL(link.target, `file:///${base}`).pathname.slice(1);
        const found = target.endsWith('/') ? [...shipped].some((p) => p.startsWith(target)) : shipped.has(target);
        if (!found) missing.push(`${file}:${link.line} links to ${link.target}, which the package does not ship`);
      }
    };
    check('README.md');
    for (const file of shipped) if (file.startsWith('docs/') && file.endsWith('.md')) check(file);
    expect(missing, missing.join('\n')).toEqual([]);
    expect([...shipped].filter((p) => p.startsWith('docs/screenshots/')).length).toBeGreaterThan(0);
  });

  it('ships its licence, changelog and security policy, and no build stamp', () => {
    for (const file of ['LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'README.md', 'package.json']) expect(shipped, file).toContain(file);
    expect(shipped).not.toContain('dist/.build-stamp');
  });

  it('ships no source map or declaration map that points to a file it does not ship', () => {
    const pkgDir = join(app, 'node_modules', 'latchkey');
    const broken: string[] = [];
    for (const file of shipped) {
      if (!/\.(?:[mc]?js|d\.[mc]?ts)$/.test(file)) continue;
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(pkgDir, file), 'utf8'))?.[1];
      if (url === undefined) continue;
      if (url.startsWith('data:')) continue;
      const map = new URL(url, `file:///${file}`).pathname.slice(1);
      if (!shipped.has(map)) {
        broken.push(`${file} names ${map}, which the package does not ship`);
        continue;
      }
      const { sources = [], sourceRoot = '', sourcesContent = [] } = JSON.parse(readFileSync(join(pkgDir, map), 'utf8')) as { sources?: string[]; sourceRoot?: string; sourcesContent?: Array<string | null> };
      sources.forEach((source, i) => {
        const target = new URL(`${sourceRoot}${source}`, `file:///${map}`).pathname.slice(1);
        if (!shipped.has(target) && typeof sourcesContent[i] !== 'string') broken.push(`${map} points to ${target}, which the package does not ship`);
      });
    }
    expect(broken.length, broken.slice(0, 10).join('\n')).toBe(0);
    expect([...shipped].filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('ships the Next.js example and its edge middleware app without their next build output, and no dist/tsconfig.json', () => {
    expect(shipped).toContain('examples/next/app/page.jsx');
    expect(shipped).toContain('examples/next/edge-middleware/middleware.js');
    expect([...shipped].filter((f) => /^examples\/next\/(edge-middleware\/)?\.next\//.test(f))).toEqual([]);
    expect(shipped).not.toContain('dist/tsconfig.json');
  });

  it('installs with the packages of the README\'s Install section', () => {
    const names = installedPackages(section(readme, 'Install')).map((spec) => splitSpec(spec).name);
    expect(names).toContain('latchkey');
    for (const name of names) expect(existsSync(join(app, 'node_modules', name, 'package.json')), name).toBe(true);
  });

  it('compiles every TypeScript and JavaScript snippet of the README as it stands', () => {
    expect(compiled.length).toBeGreaterThan(10);
    const problems = diagnostics(compile.output);
    if (compile.status !== 0 && problems.length === 0) problems.push(`tsc ended with ${compile.status}:\n${compile.output}`);
    expect(problems.length, `README snippets that do not compile:\n  ${problems.join('\n  ')}`).toBe(0);
  });

  it("type-checks every entry point's declarations under skipLibCheck false with only the @types packages the Install section names", () => {
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'latchkey', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(installed.exports)
      .filter((k) => k !== './package.json')
      .map((k) => `latchkey${k.slice(1)}`);
    expect(entries).toEqual(expect.arrayContaining(['latchkey', 'latchkey/stores/sqlite', 'latchkey/stores/postgres', 'latchkey/express', 'latchkey/browser']));
    // A server project (Node's types, no DOM) imports every server entry point; a browser project (DOM) latchkey/browser.
    const projects = [
      { name: 'server', lib: ['ES2023'], entries: entries.filter((e) => e !== 'latchkey/browser') },
      { name: 'browser', lib: ['ES2023', 'DOM', 'DOM.Iterable'], entries: ['latchkey/browser'] },
    ];
    const local = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
    const tsc = existsSync(local) ? local : join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const project of projects) {
      const dir = join(app, `entries-${project.name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'entries.ts'), `${project.entries.map((e, i) => `import * as m${i} from '${e}';`).join('\n')}\nexport const all = [${project.entries.map((_e, i) => `m${i}`).join(', ')}];\n`);
      const options = {
        target: 'ES2022',
        lib: project.lib,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        verbatimModuleSyntax: true,
        noEmit: true,
        // The README's mapping for @types/koa beside Express 5 (see the snippets' project above), from this folder.
        paths: { 'content-disposition': ['../node_modules/@types/content-disposition/index.d.ts'] },
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['entries.ts'] }));
      const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`, `${project.name}: ${project.entries.join(', ')}`).toBe('');
      expect(r.status).toBe(0);
    }
  }, 120_000);

  it("needs the README's content-disposition mapping for @types/koa beside Express 5 whether or not latchkey is imported, and nothing more", () => {
    // TypeScript includes every installed @types package: @types/koa fails against the hoisted content-disposition 2 in a file that imports nothing.
    const dir = join(app, 'koa-types');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'nothing.ts'), 'export const nothing = 0;\n');
    const options = { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true };
    const check = (extra: Record<string, unknown>): string => {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...options, ...extra }, include: ['nothing.ts'] }));
      const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
      return `${r.stdout}${r.stderr}`;
    };
    const errors = check({}).split('\n').filter((l) => /error TS/.test(l));
    expect(errors.length).toBeGreaterThan(0);
    for (const line of errors) expect(line).toMatch(/node_modules\/@types\/koa\/index\.d\.ts\(\d+,\d+\): error TS2694: Namespace '.*content-disposition.*' has no exported member 'Options'/);
    expect(check({ paths: { 'content-disposition': ['../node_modules/@types/content-disposition/index.d.ts'] } })).toBe('');
  }, 60_000);

  it('runs the Quick start', () => {
    const quickStart = compiled.find((s) => s.heading === '## Quick start');
    if (quickStart === undefined) throw new Error('README.md has no ```ts block under "## Quick start"');
    const file = join(app, 'out', snippetFile(quickStart).replace(/\.ts$/, '.js'));
    // tsc emits even when some snippet has errors: the Quick start runs if it was compiled at all.
    expect(existsSync(file), `${file}: the Quick start was not compiled:\n${compile.output}`).toBe(true);
    const r = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, `the Quick start (README.md:${quickStart.line}) ended with ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`).toBe(0);
  }, 60_000);

  describe('runs the examples shipped in the package, copied into the project', () => {
    let running: RunningExample | null = null;
    afterEach(() => {
      running?.stop();
      running = null;
    });
    beforeAll(() => {
      for (const dir of ['shared', 'koa', 'nest']) cpSync(join(app, 'node_modules', 'latchkey', 'examples', dir), join(app, 'examples', dir), { recursive: true });
      // As a NestJS project builds: tsc with the example's tsconfig (decorators).
      const r = spawnSync(process.execPath, [tsc, '-p', join('examples', 'nest'), '--pretty', 'false'], { cwd: app, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`examples/nest does not compile in the project:\n${r.stdout}${r.stderr}`);
    }, 60_000);

    it.each([
      ['Koa example', 'koa/server.js', undefined],
      ["NestJS example on Nest's Express platform", 'nest/dist/nest/server.js', '/account'],
      ["NestJS example on Nest's Fastify platform", 'nest/dist/nest/fastify.js', '/account'],
    ])('the %s signs in, shows the session and signs out everywhere', async (_name, script, guarded) => {
      running = await startExample(join(app, 'examples', script), app);
      await walkExample(running.url, guarded);
    }, 30_000);
  });
});

describe.skipIf(!redisAvailable)('the express-session migration of docs/migrating.md, from the tarball', () => {
  it('keeps a user signed in from before.js to after.js, the old session deleted from Redis and its cookie cleared', async () => {
    const files = migrationFiles(root);
    const before = files.get('before.js');
    const after = files.get('after.js');
    if (before === undefined || after === undefined) throw new Error('docs/migrating.md has no ```js blocks opening with // before.js and // after.js');
    // After the README's checks: the README's snippets compiled with exactly the packages its Install section names.
    npm(['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', ...recipePackages(pkg.devDependencies)], app);
    const redis = await startRedis();
    const client = createClient({ url: redis.url });
    const env = { REDIS_URL: redis.url, SESSION_SECRET: 'the secret express-session had', HANDOVER_KEY: 'a hand-over key of at least 32 random bytes, for this test' };
    const dir = join(app, 'migration');
    const running: Array<{ stop(): Promise<void> }> = [];
    try {
      await client.connect();
      const old = await runRecipe(dir, 'before.js', before, await freePort(), env);
      running.push(old);
      const login = await fetch(`${old.url}/login`, { method: 'POST' });
      const oldCookie = login.headers.getSetCookie().find((l) => l.startsWith('connect.sid='))?.split(';')[0];
      if (oldCookie === undefined) throw new Error(`before.js set no connect.sid: ${login.headers.getSetCookie().join(' | ')}`);
      expect(await (await fetch(`${old.url}/me`, { headers: { cookie: oldCookie } })).json()).toEqual({ userId: 'alice', cart: ['book'] });
      const signed = decodeURIComponent(oldCookie.slice('connect.sid='.length));
      const key = `sess:${signed.slice(2, signed.lastIndexOf('.'))}`;
      expect(await client.exists(key)).toBe(1);
      await old.stop();

      const now = await runRecipe(dir, 'after.js', after, await freePort(), env);
      running.push(now);
      const first = await fetch(`${now.url}/me`, { headers: { cookie: oldCookie } });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ userId: 'alice', cart: ['book'] });
      const setCookies = first.headers.getSetCookie();
      expect(setCookies.find((l) => l.startsWith('connect.sid='))).toMatch(/Max-Age=0/i);
      const newCookie = setCookies.find((l) => l.startsWith('__Host-session='))?.split(';')[0];
      expect(newCookie).toMatch(/^__Host-session=[\w-]{22}\.[\w-]{43}$/);
      expect(await client.exists(key)).toBe(0);
      expect(await (await fetch(`${now.url}/me`, { headers: { cookie: newCookie as string } })).json()).toEqual({ userId: 'alice', cart: ['book'] });
    } finally {
      await Promise.all(running.map((p) => p.stop()));
      await client.quit().catch(() => {});
      await redis.stop();
    }
  }, 120_000);
});
