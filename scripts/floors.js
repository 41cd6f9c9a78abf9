// The floors of src/ and what each may import: an ESLint rule (`latchkey/floors`,
// on in eslint.config.js for src/**) that resolves every import, export-from and
// literal import() of a file to the floor it lands on, and refuses what the
// table below does not allow. docs/architecture.md explains the floors;
// test/lint/floors.test.ts proves the rule fails on a violation in each.
import { dirname, posix, relative, resolve, sep } from 'node:path';

/**
 * Per floor (a folder of src/): `values`, what it may import at run time, as
 * floors (`'core'`) or single files (`'core/errors.ts'`); `types`, what it may
 * import only with `import type` / `export type`; `packages`, whether it may
 * import npm packages and node: builtins at run time (type imports of
 * packages are always allowed). Its own folder is always allowed. `why` is
 * said in every refusal.
 */
export const FLOORS = {
  core: { values: [], types: [], packages: true, why: 'core is the ground floor: it imports nothing of latchkey above it' },
  stores: { values: ['core'], types: [], packages: true, why: 'a store does storage and atomicity on core alone' },
  testing: { values: ['core'], types: [], packages: true, why: 'the store conformance suite runs on core alone' },
  sealed: { values: ['core'], types: [], packages: true, why: 'sealed mode is built on core alone' },
  tokens: { values: ['core'], types: [], packages: true, why: 'token mode is built on core alone (the engine, not a store)' },
  http: { values: ['core'], types: ['sealed', 'tokens', 'client'], packages: true, why: 'http is handed sealed mode, token mode and the session service client by the application: it imports them as types only' },
  adapters: { values: ['core', 'http'], types: ['sealed', 'tokens'], packages: true, why: 'adapters are wiring over http: they import no store' },
  client: {
    values: ['core/errors.ts', 'core/duration.ts', 'core/option-keys.ts'],
    types: ['core', 'http', 'tokens'],
    packages: false,
    why: 'the service client runs anywhere with fetch: types and its own files, plus the dependency-free errors, durations and option checks of core',
  },
  browser: {
    values: ['core', 'http', 'client', 'tokens', 'sealed'],
    types: ['core', 'http', 'client', 'tokens', 'sealed'],
    packages: false,
    nodeFiles: ['http/node.ts'],
    why: 'the browser module imports nothing from the Node-side floors (stores, server, cli, adapters, testing, node:http glue), no node: builtin and no package',
  },
  migrate: { values: ['core', 'http'], types: [], packages: true, why: 'migrators plug into the HTTP layer and create sessions through the engine: no store, no adapter' },
  server: { values: ['core', 'stores', 'sealed', 'tokens', 'http', 'adapters'], types: [], packages: true, why: 'the service is built on the library, never on the CLI' },
  cli: {
    values: ['core', 'stores', 'sealed', 'tokens', 'server/config.ts', 'server/state-folder.ts', 'server/service.ts'],
    types: ['server'],
    packages: true,
    why: 'the CLI does library work through the library (latchkey/stores, core): from the service it takes only its configuration, its state folders and, to serve, the service itself',
  },
};

/**
 * package.json's own `imports` (`#name`): where each lands, whichever file a
 * runtime condition picks. `#primitives` is core's (src/core/primitives/).
 */
const INTERNAL_IMPORTS = { '#primitives': { floor: 'core', path: 'core/primitives/types.ts' } };

/** Where `source`, imported from `file`, lands: `{ floor, path }` under src/, `{ root }` for a src/ root file, or null outside src/. */
function landing(srcDir, file, source) {
  const target = relative(srcDir, resolve(dirname(file), source)).split(sep).join(posix.sep).replace(/\.js$/, '.ts');
  if (target.startsWith('..')) return null;
  const slash = target.indexOf('/');
  return slash === -1 ? { root: target } : { floor: target.slice(0, slash), path: target };
}

function allows(list, to) {
  return list.some((entry) => (entry.endsWith('.ts') ? entry === to.path : entry === to.floor));
}

function typeOnly(node) {
  if (node.type === 'ImportExpression') return false;
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specifiers = node.specifiers ?? [];
  return specifiers.length > 0 && specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

/** @type {import('eslint').Rule.RuleModule} */
export const floorsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Each floor of src/ imports only what docs/architecture.md allows it' },
    schema: [],
    messages: { refused: '{{from}}/ may not import {{what}}: {{why}}' },
  },
  create(context) {
    const file = context.filename;
    const srcDir = resolve(context.cwd, 'src');
    const own = relative(srcDir, file).split(sep)[0];
    const rules = FLOORS[own];
    if (rules === undefined || relative(srcDir, file).startsWith('..')) return {};
    const check = (node) => {
      const source = node.source;
      if (source == null || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      const types = typeOnly(node);
      const refuse = (what) => context.report({ node: source, messageId: 'refused', data: { from: own, what, why: rules.why } });
      const internal = INTERNAL_IMPORTS[spec];
      if (!spec.startsWith('.') && internal === undefined) {
        if (!rules.packages && !types) refuse(spec.startsWith('node:') ? `the Node builtin ${spec}` : `the package ${spec}`);
        return;
      }
      const to = internal ?? landing(srcDir, file, spec);
      if (to === null) return refuse(`${spec} (outside src/)`);
      if (to.root !== undefined) return refuse(`src/${to.root} (an entry point above every floor)`);
      if (to.floor === own) return;
      if (rules.nodeFiles?.includes(to.path)) return refuse(`${to.path} (Node-side)`);
      if (allows(rules.values, to) || (types && allows(rules.types, to))) return;
      refuse(allows(rules.types, to) ? `${to.path} except as a type (import type)` : to.path);
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

/**
 * The import cycles among the .ts files under `srcDir`, type-only imports
 * included (a cycle of types still ties two files into one): each as the list
 * of its files, relative to `srcDir`. Tarjan's strongly connected components.
 */
export function findCycles(srcDir, readDir, readFile) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readDir(dir)) {
      const path = resolve(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  walk(srcDir);
  const known = new Set(files);
  const edges = new Map();
  for (const file of files) {
    const targets = new Set();
    for (const m of readFile(file).matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
      const target = resolve(dirname(file), m[1] ?? m[2]).replace(/\.js$/, '.ts');
      if (known.has(target)) targets.add(target);
    }
    edges.set(file, [...targets]);
  }
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(relative(srcDir, w).split(sep).join(posix.sep));
      } while (w !== v);
      if (component.length > 1 || edges.get(v).includes(v)) cycles.push(component.sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}
