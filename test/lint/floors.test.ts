/**
 * The floors of src/ as `npm run lint` enforces them: a file placed in each
 * folder (linted as text under its path, with the repository's own ESLint
 * configuration) that imports across its floor is refused, and one that keeps
 * to it is not; the real tree keeps to every floor and has no import cycle.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { FLOORS, findCycles } from '../../scripts/floors.js';

const root = new URL('../..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });
const scratch = mkdtempSync(join(tmpdir(), 'latchkey-floors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The `latchkey/floors` messages for `code` placed at `path` (relative to the repository). */
async function floorsMessages(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'latchkey/floors' || m.fatal === true).map((m) => m.message);
}

/** Per folder: an import that crosses its floor, and one that keeps to it. */
const CASES: Array<{ folder: string; refused: string; kept: string; says: RegExp }> = [
  { folder: 'core', refused: "import { memoryStore } from '../stores/memory.js';", kept: "import { parseDuration } from './duration.js';", says: /^core\/ may not import stores\/memory\.ts: core is the ground floor/ },
  { folder: 'core', refused: "import type { HttpReason } from '../http/errors.js';", kept: "import type { Store } from './store.js';", says: /^core\/ may not import http\/errors\.ts/ },
  { folder: 'stores', refused: "import { createTokens } from '../tokens/tokens.js';", kept: "import { ConfigError } from '../core/errors.js';", says: /^stores\/ may not import tokens\/tokens\.ts/ },
  { folder: 'tokens', refused: "import { createHttpSessions } from '../http/http-sessions.js';", kept: "import { engineInternals } from '../core/engine-internals.js';", says: /^tokens\/ may not import http\/http-sessions\.ts/ },
  { folder: 'sealed', refused: "import { redisStore } from '../stores/redis.js';", kept: "import { ConfigError } from '../core/errors.js';", says: /^sealed\/ may not import stores\/redis\.ts/ },
  { folder: 'http', refused: "import { createTokens } from '../tokens/tokens.js';", kept: "import type { Tokens } from '../tokens/tokens.js';", says: /^http\/ may not import tokens\/tokens\.ts except as a type/ },
  { folder: 'http', refused: "import { createSealer } from '../sealed/sealer.js';", kept: "import type { SealedSessions } from '../sealed/sealed-sessions.js';", says: /^http\/ may not import sealed\/sealer\.ts except as a type/ },
  { folder: 'adapters', refused: "import { memoryStore } from '../stores/memory.js';", kept: "import { createHttpSessions } from '../http/http-sessions.js';", says: /^adapters\/ may not import stores\/memory\.ts: adapters are wiring/ },
  { folder: 'client', refused: "import { parseToken } from '../core/token.js';", kept: "import type { Session } from '../core/model.js';", says: /^client\/ may not import core\/token\.ts except as a type/ },
  { folder: 'client', refused: "import { jwtVerify } from 'jose';", kept: "import { LatchkeyError } from '../core/errors.js';", says: /^client\/ may not import the package jose/ },
  { folder: 'cli', refused: "import { apiError } from '../server/errors.js';", kept: "import { openStore } from '../stores/open.js';", says: /^cli\/ may not import server\/errors\.ts except as a type \(import type\): the CLI does library work through the library/ },
  { folder: 'cli', refused: "export const load = () => import('../server/api.js');", kept: "export const load = () => import('../server/service.js');", says: /^cli\/ may not import server\/api\.ts/ },
  { folder: 'server', refused: "import { run } from '../cli/run.js';", kept: "import { createHttpSessions } from '../http/http-sessions.js';", says: /^server\/ may not import cli\/run\.ts/ },
  { folder: 'browser', refused: "import { sqliteStore } from '../stores/sqlite.js';", kept: "import type { HttpReason } from '../http/errors.js';", says: /^browser\/ may not import stores\/sqlite\.ts/ },
  { folder: 'browser', refused: "import { createHash } from 'node:crypto';", kept: "import { LatchkeyError } from '../core/errors.js';", says: /^browser\/ may not import the Node builtin node:crypto/ },
  { folder: 'browser', refused: "import { nodeRequest } from '../http/node.js';", kept: "import { HttpError } from '../http/errors.js';", says: /^browser\/ may not import http\/node\.ts \(Node-side\)/ },
  { folder: 'testing', refused: "import { sqliteStore } from '../stores/sqlite.js';", kept: "import type { Store } from '../core/store.js';", says: /^testing\/ may not import stores\/sqlite\.ts/ },
];

describe('the floors of src/', () => {
  it('name every folder of src/ (a new folder needs a floor)', () => {
    const folders = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.filter((f) => !(f in FLOORS))).toEqual([]);
  });

  it.each(CASES.map((c) => [c.folder, c.refused, c] as const))('refuse a deliberate violation in src/%s: %s', async (_folder, _refused, { folder, refused, kept, says }) => {
    const fixture = `src/${folder}/__floors_fixture__.ts`;
    const messages = await floorsMessages(fixture, `${refused}\nexport {};\n`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(says);
    expect(await floorsMessages(fixture, `${kept}\nexport {};\n`)).toEqual([]);
  });

  it('are kept by every file of src/ as it stands', async () => {
    const results = await eslint.lintFiles([join(root, 'src')]);
    const broken = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'latchkey/floors').map((m) => `${r.filePath.slice(root.length)}: ${m.message}`));
    expect(broken).toEqual([]);
    // Linting all of src/ with type information takes 5 s on an idle machine and over 15 s on a busy one.
  }, 60_000);
});

describe('import cycles', () => {
  const cyclesIn = (dir: string) => findCycles(dir, (d: string) => readdirSync(d, { withFileTypes: true }), (f: string) => readFileSync(f, 'utf8'));

  it('are found, type-only imports included', () => {
    const dir = join(scratch, 'cycle');
    mkdirSync(join(dir, 'tokens'), { recursive: true });
    writeFileSync(join(dir, 'tokens', 'keys.ts'), "import { memoryKeyStorage } from './key-storage.js';\nexport const k = memoryKeyStorage;\n");
    writeFileSync(join(dir, 'tokens', 'key-storage.ts'), "import type { SigningAlgorithm } from './keys.js';\nexport const memoryKeyStorage = (a: SigningAlgorithm) => a;\n");
    writeFileSync(join(dir, 'tokens', 'access.ts'), "import { k } from './keys.js';\nexport const a = k;\n");
    expect(cyclesIn(dir)).toEqual([['tokens/key-storage.ts', 'tokens/keys.ts']]);
  });

  it('are none in src/', () => {
    expect(cyclesIn(join(root, 'src'))).toEqual([]);
  });
});
