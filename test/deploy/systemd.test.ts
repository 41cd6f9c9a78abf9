/**
 * The systemd unit of docs/deploy/latchkey.service, checked by systemd's own
 * tools: `systemd-analyze verify` (every key known, the ExecStart executable
 * present) and `systemd-analyze security` (its sandbox keeps the exposure at
 * 2.0 or below); and the arguments and variables it gives `latchkey serve`
 * (with the template docs/deploy/latchkey.env) are ones latchkey accepts.
 *
 * systemd-analyze comes with Debian's `systemd` package (.ci/run installs
 * it). Without it these tests are skipped with a loud warning, unless CI is
 * set: then they fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_OPTIONS, envName, loadConfig } from '../../src/server/config.js';
import { ensureBuilt, root } from '../cli/built.js';
import { latchkey } from '../cli/process.js';

const unitPath = join(root, 'docs', 'deploy', 'latchkey.service');
const envPath = join(root, 'docs', 'deploy', 'latchkey.env');
const analyzer = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
if (!analyzer) {
  if (process.env.CI) throw new Error('systemd-analyze not found, and CI is set: install the Debian package systemd');
  console.warn('SKIPPED: systemd unit checks: systemd-analyze not found (apt-get install systemd)');
}

let dir: string;
/** The unit as the checks see it: ExecStart's node is this machine's when /usr/bin/node is absent (said in the test name). */
let unit: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-systemd-'));
  unit = join(dir, 'latchkey.service');
  const text = readFileSync(unitPath, 'utf8');
  writeFileSync(unit, existsSync('/usr/bin/node') ? text : text.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function analyze(...args: string[]): { code: number | null; output: string } {
  const r = spawnSync('systemd-analyze', args, { cwd: dir, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The unit's `Key=value` lines (comments and sections left out), in order. */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe.skipIf(!analyzer)('the systemd unit', () => {
  it('passes systemd-analyze verify without a warning', () => {
    expect(analyze('verify', unit)).toEqual({ code: 0, output: '' });
  });

  it('is one whose mistakes systemd-analyze verify reports (the check can fail)', () => {
    const broken = join(dir, 'broken.service');
    writeFileSync(broken, readFileSync(unit, 'utf8').replace('Type=exec', 'Tpye=exec').replace(/ExecStart=\S+/, 'ExecStart=/nonexistent/node'));
    const out = analyze('verify', broken);
    expect(out.output).toContain("Unknown key 'Tpye'");
    expect(out.output).toContain('/nonexistent/node');
    expect(out.code).not.toBe(0);
  });

  it('keeps its sandbox: an exposure of 2.0 or below by systemd-analyze security', () => {
    const out = analyze('security', '--offline=true', '--threshold=20', unit);
    expect(out.code, out.output.split('\n').at(-1)).toBe(0);
    expect(out.output).toMatch(/Overall exposure level for latchkey\.service: (?:[01]\.\d|2\.0) /);
  });
});

describe('what the unit gives latchkey serve', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('runs the packaged CLI with arguments that latchkey serve accepts', async () => {
    const exec = directives(readFileSync(unitPath, 'utf8')).find(([k]) => k === 'ExecStart')?.[1] ?? '';
    const [node, script, ...args] = exec.split(' ');
    expect(node).toBe('/usr/bin/node');
    expect(script).toBe('/opt/latchkey/node_modules/latchkey/dist/cli/main.js');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(`/opt/latchkey/node_modules/latchkey/${(pkg.bin.latchkey ?? '').replace(/^\.\//, '')}`).toBe(script);
    // Parsing is strict (an unknown flag is exit code 2 even with --help).
    const out = await latchkey([...args, '--help'], dir);
    expect(args[0]).toBe('serve');
    expect(out.code, out.stderr).toBe(0);
  });

  it('has a template that latchkey serve accepts once its secrets are filled in', () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(envPath, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m !== null) env[m[1] as string] = m[2] as string;
    }
    expect(env.LATCHKEY_REFRESH_SECRET).toBe('');
    expect(env.LATCHKEY_ADMIN_PASSWORD).toBe('');
    const config = loadConfig({ env: { ...env, LATCHKEY_REFRESH_SECRET: 'r'.repeat(64), LATCHKEY_ADMIN_PASSWORD: 'a long admin password' }, cwd: dir });
    expect(config).toMatchObject({ host: env.LATCHKEY_HOST, port: Number(env.LATCHKEY_PORT), store: env.LATCHKEY_STORE, trustProxy: [env.LATCHKEY_TRUST_PROXY] });
  });

  it('sets only variables that latchkey reads, in the unit and in the template', () => {
    const known = new Set([...CONFIG_OPTIONS.map((o) => envName(o.name)), 'LATCHKEY_CONFIG', 'PORT', 'HOST', 'NODE_ENV']);
    const fromUnit = directives(readFileSync(unitPath, 'utf8'))
      .filter(([k]) => k === 'Environment')
      .map(([, v]) => v.slice(0, v.indexOf('=')));
    const fromTemplate = readFileSync(envPath, 'utf8')
      .split('\n')
      .map((l) => l.replace(/^#/, ''))
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.slice(0, l.indexOf('=')));
    expect(fromUnit.length + fromTemplate.length).toBeGreaterThan(5);
    expect([...fromUnit, ...fromTemplate].filter((v) => !known.has(v))).toEqual([]);
    expect(readFileSync(unitPath, 'utf8')).toContain('EnvironmentFile=/etc/latchkey/latchkey.env');
  });
});
