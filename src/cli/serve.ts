/**
 * `latchkey serve`: runs the session service (JSON API, JWKS, metrics, admin
 * dashboard, demo site). Every option of the service's configuration is a
 * flag (`--idle-timeout 1h`), a variable (`LATCHKEY_IDLE_TIMEOUT=1h`) or a
 * key of the JSON config file, in that order of precedence; the help lists
 * them from the configuration's own table. SIGINT or SIGTERM shuts it down
 * gracefully (requests in flight finish); a second signal ends it at once.
 *
 * @module
 */
import { CONFIG_OPTIONS, envName, flagName, loadConfig, platformVariable, type ServiceConfig } from '../server/config.js';
import type { Service } from '../server/service.js';
import { redactStoreUrl } from '../stores/url.js';
import { parseVerb } from './args.js';
import { showHelp, type Command } from './command.js';
import { CliError, EXIT, usageError } from './exit.js';
import { println, type CliIO } from './io.js';

const PLACEHOLDER: Record<string, string> = {
  string: '<text>',
  port: '<port>',
  int: '<n>',
  duration: '<duration>',
  count: '<n>',
  proxies: '<list>',
  level: '<level>',
  store: '<url>',
  secret: '<secret>',
  key: '<secret>',
};

/** The serve flags: each configuration option, `--no-<flag>` for booleans, and `--config`. */
const OPTIONS = Object.fromEntries([
  ['config', { type: 'string' }],
  ...CONFIG_OPTIONS.flatMap((o) =>
    o.kind === 'bool'
      ? [
          [flagName(o.name), { type: 'boolean' }],
          [`no-${flagName(o.name)}`, { type: 'boolean' }],
        ]
      : [[flagName(o.name), { type: 'string' }]],
  ),
]) as Record<string, { type: 'string' | 'boolean' }>;

function shownDefault(o: (typeof CONFIG_OPTIONS)[number]): string {
  if (o.default === null) return '';
  if (Array.isArray(o.default)) return o.default.length === 0 ? ' Default: none.' : ` Default: ${o.default.join(',')}.`;
  return ` Default: ${String(o.default)}.`;
}

/** The platform's variables, read after latchkey's own (see `platformVariable`). */
const PLATFORM_HELP: Record<string, string> = {
  host: ', else HOST when it holds an IP address or localhost',
  port: ', else PORT',
};

/** One entry per option: the flag on its line, then what it does, its default and its variable. */
function optionLines(): string {
  const entries = CONFIG_OPTIONS.map((o) => ({
    flag: o.kind === 'bool' ? `--[no-]${flagName(o.name)}` : `--${flagName(o.name)} ${o.name === 'dataDir' ? '<dir>' : PLACEHOLDER[o.kind]}`,
    // As the table gives it: a help text may begin with a lower-case name (iss, aud, fatal).
    text: `${o.help}.${shownDefault(o)} Variable: ${envName(o.name)}${PLATFORM_HELP[o.name] ?? ''}.`,
  }));
  entries.push({ flag: '--config <file>', text: 'a JSON config file of these options by name, e.g. {"port": 8080, "idleTimeout": "1h"}. Variable: LATCHKEY_CONFIG.' });
  entries.push({ flag: '-h, --help', text: 'show this help.' });
  return entries.map((e) => `  ${e.flag}\n${wrap(e.text, 72).map((l) => `      ${l}`).join('\n')}`).join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

const HELP = `Usage: latchkey serve [--host 127.0.0.1] [--port 4000] [--store <url>] [options]

Runs the latchkey session service: the JSON API under /v1 (callers present an
API key, see 'latchkey apikeys create'), /.well-known/jwks.json,
/openapi.json, /healthz, /readyz, /metrics, the admin dashboard at /admin and
the demo site at /demo. Prints its URLs once it listens.

Each option is a flag, an environment variable or a key of the config file;
a flag wins over a variable, a variable over the file. PORT and HOST, as
platforms and container images set them, are read after LATCHKEY_PORT and
LATCHKEY_HOST (and before the file). Durations: 30s, 10m, 12h, 14d.
Everything is checked at start; any problem ends with exit code 2.

The dashboard's admin password is --admin-password (or LATCHKEY_ADMIN_PASSWORD);
without one, a password is generated into <data-dir>/admin-password and
only that file's path is printed.

SIGINT (Ctrl+C) or SIGTERM: graceful shutdown, requests in flight finish
(up to --shutdown-timeout), exit code 0. A second signal ends at once
(exit code 128 + signal number).

Options:
${optionLines()}`;

/** `latchkey serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the session service: API, dashboard, demo',
  help: HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, OPTIONS, HELP);
    if (values.help === true) return showHelp(io, HELP);
    const flags: Record<string, string | boolean | undefined> = { config: typeof values.config === 'string' ? values.config : undefined };
    for (const o of CONFIG_OPTIONS) {
      const flag = flagName(o.name);
      if (o.kind !== 'bool') {
        flags[o.name] = values[flag] as string | undefined;
        continue;
      }
      if (values[flag] === true && values[`no-${flag}`] === true) throw usageError(`give --${flag} or --no-${flag}, not both`, HELP);
      flags[o.name] = values[flag] === true ? true : values[`no-${flag}`] === true ? false : undefined;
    }
    const config = loadConfig({ flags, env: io.env, cwd: io.cwd });
    const host = io.env.HOST?.trim();
    if (host && flags.host === undefined && !io.env.LATCHKEY_HOST && platformVariable('host', io.env) === undefined) {
      // Said once, so that a service that is unreachable from outside is not a mystery.
      println(io.stderr, `latchkey: HOST ${JSON.stringify(host.slice(0, 64))} is not an IP address (some shells set it to the machine's name): ignored; use --host or LATCHKEY_HOST`);
    }
    return serve(config, io);
  },
};

async function serve(config: ServiceConfig, io: CliIO): Promise<number> {
  const createService = await loadServiceFactory();
  const service = await createService(config);
  let base: string;
  try {
    base = await service.listen();
  } catch (err) {
    await service.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${config.host}:${config.port}`;
    if (code === 'EADDRINUSE') throw new CliError(EXIT.usage, `cannot listen on ${where}: the address is in use; choose another --port`, { cause: err });
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(EXIT.usage, `cannot listen on ${where}: permission denied; choose a port above 1023`, { cause: err });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(EXIT.usage, `cannot listen on ${where}: no such local address; check --host`, { cause: err });
    throw err;
  }

  const lines = [`latchkey is listening on ${base}`, `  API            ${base}/v1`];
  if (config.demo) lines.push(`  demo site      ${base}/demo`);
  if (config.dashboard) lines.push(`  admin          ${base}/admin`);
  lines.push(`  OpenAPI        ${base}/openapi.json`, `  store          ${redactStoreUrl(config.store)}`);
  if (config.dashboard) {
    // Where the password is, never the password.
    const file = service.adminPasswordFile;
    lines.push(file === null ? '  admin password as configured (user admin)' : `  admin password in ${file} (user admin)`);
  }
  lines.push('Press Ctrl+C to stop.');
  println(io.stdout, ...lines);

  await shutdownRequested(io);
  println(io.stderr, 'latchkey: shutting down, letting requests in flight finish (Ctrl+C again to stop at once)');
  const forced = (signal: NodeJS.Signals): void => {
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.on('SIGINT', forced);
  process.on('SIGTERM', forced);
  try {
    await service.close();
  } finally {
    process.off('SIGINT', forced);
    process.off('SIGTERM', forced);
  }
  println(io.stderr, 'latchkey: stopped');
  return EXIT.ok;
}

/** Resolves on the first SIGINT or SIGTERM, or when `io.signal` aborts. */
function shutdownRequested(io: CliIO): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      io.signal?.removeEventListener('abort', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    if (io.signal?.aborted) done();
    else io.signal?.addEventListener('abort', done, { once: true });
  });
}

/** The service module, or what stands in for it in a test. */
type ServiceModule = { readonly createService: (config: ServiceConfig) => Promise<Service> };

/**
 * `createService` of the service module, loaded only by this verb (it pulls
 * in Fastify, an optional peer dependency). Without Fastify installed: exit
 * code 2 with the `npm install` line, as for a missing store driver.
 */
export async function loadServiceFactory(
  load: () => Promise<ServiceModule> = () => import('../server/service.js'),
): Promise<ServiceModule['createService']> {
  try {
    return (await load()).createService;
  } catch (err) {
    if (isMissingFastify(err)) throw new CliError(EXIT.usage, 'latchkey serve needs the "fastify" package: npm install fastify', { cause: err });
    throw err;
  }
}

/** Node's "Cannot find package 'fastify' imported from …" (not a module of fastify's own that is missing). */
function isMissingFastify(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package ['"]fastify['"]/.test((err as Error).message);
}
