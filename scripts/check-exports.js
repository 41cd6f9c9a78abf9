// Checks that package.json's export map, the built files and the README agree:
// every subpath export points at files that exist after `npm run build`, has a
// TypeScript source, comes "types" first, and is named in README.md.
import { existsSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const problems = [];

for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (subpath === './package.json') continue;
  const name = subpath === '.' ? 'latchkey' : `latchkey/${subpath.slice(2)}`;
  if (typeof target !== 'object' || Object.keys(target)[0] !== 'types') {
    problems.push(`${name}: the export must be an object whose first condition is "types"`);
    continue;
  }
  for (const [condition, file] of Object.entries(target)) {
    if (!existsSync(new URL(`../${file}`, import.meta.url))) {
      problems.push(`${name}: ${condition} file ${file} does not exist (run npm run build first)`);
    }
  }
  const source = target.default.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
  if (!existsSync(new URL(`../${source}`, import.meta.url))) problems.push(`${name}: no source file ${source}`);
  if (subpath !== '.' && !readme.includes(`'${name}'`) && !readme.includes(`\`${name}\``)) {
    problems.push(`${name}: README.md never names it`);
  }
}

if (problems.length > 0) {
  console.error(`export map check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`export map check: ${Object.keys(pkg.exports).length - 1} entry points agree with dist/ and README.md`);
