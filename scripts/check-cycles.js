// Fails when files of src/ import each other in a cycle, type-only imports
// included: part of `npm run lint`, beside the floors rule of eslint.config.js.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findCycles } from './floors.js';

const src = fileURLToPath(new URL('../src', import.meta.url));
const cycles = findCycles(src, (dir) => readdirSync(dir, { withFileTypes: true }), (file) => readFileSync(file, 'utf8'));
if (cycles.length > 0) {
  console.error(`import cycles in src/ (type-only imports count too):\n  ${cycles.map((c) => c.join(' <-> ')).join('\n  ')}`);
  process.exit(1);
}
console.log('import cycles: none in src/');
