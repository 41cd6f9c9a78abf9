/**
 * docs/security.md maps every session requirement of ASVS 4.0.3 (V3) and
 * ASVS 5.0.0 (V7, V9, and the cookie setup of V3.3) to latchkey's defaults
 * and the tests that prove them. This keeps the map from rotting: every
 * cited test exists under the cited name, and every requirement has an
 * entry that cites a test or says plainly that it is not latchkey's to meet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'security.md'), 'utf8');

/** `` `test/a.test.ts` › “a test name” `` */
const CITATION = /`((?:test|src)\/[^`\s]+\.ts)` › “([^”]+)”/g;
const ID = /v(?:4\.0\.3|5\.0\.0)-\d+\.\d+\.\d+/g;
/** What an entry may say instead of citing a test. */
const NOT_OURS = /\*\*Not applicable|\*\*Left to the application entirely/;

const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
/** Every requirement of the chapters the page covers, as the standards number them. */
const REQUIREMENTS = [
  ...['v4.0.3-3.1.1', ...range('v4.0.3-3.2.', 1, 4), ...range('v4.0.3-3.3.', 1, 4), ...range('v4.0.3-3.4.', 1, 5), ...range('v4.0.3-3.5.', 1, 3), ...range('v4.0.3-3.6.', 1, 2), 'v4.0.3-3.7.1'],
  ...[...range('v5.0.0-7.1.', 1, 3), ...range('v5.0.0-7.2.', 1, 4), ...range('v5.0.0-7.3.', 1, 2), ...range('v5.0.0-7.4.', 1, 5), ...range('v5.0.0-7.5.', 1, 3), ...range('v5.0.0-7.6.', 1, 2)],
  ...[...range('v5.0.0-9.1.', 1, 3), ...range('v5.0.0-9.2.', 1, 4)],
  ...range('v5.0.0-3.3.', 1, 5),
];

/** The tests a text cites that do not exist under that name: `file › name` of each. */
export function missingCitations(text: string, read: (file: string) => string | null): string[] {
  const missing: string[] = [];
  for (const [, file, name] of text.matchAll(CITATION)) {
    const source = read(file as string);
    if (source === null || !source.includes(name as string)) missing.push(`${file} › ${name}${source === null ? ' (no such file)' : ''}`);
  }
  return missing;
}

/** The entry of each requirement: the `####` block whose heading names it, or the line that defines it in bold. */
export function entries(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const block of text.split(/\n(?=#{2,4} )/)) {
    const heading = block.split('\n')[0] as string;
    if (heading.startsWith('#### ')) for (const id of heading.match(ID) ?? []) if (!found.has(id)) found.set(id, block);
  }
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/\*\*(v(?:4\.0\.3|5\.0\.0)-\d+\.\d+\.\d+)\*\*/g)) if (!found.has(m[1] as string)) found.set(m[1] as string, line);
  }
  return found;
}

/** A source file as its test names read: quotes escaped in string literals unescaped. */
const readSource = (file: string): string | null => (existsSync(join(root, file)) ? readFileSync(join(root, file), 'utf8').replace(/\\(['"`])/g, '$1') : null);

describe('docs/security.md', () => {
  it('cites only tests that exist, under the name they have in the suite', () => {
    const cited = [...doc.matchAll(CITATION)];
    expect(cited.length).toBeGreaterThan(80);
    expect(missingCitations(doc, readSource)).toEqual([]);
  });

  it('has an entry for every requirement of ASVS 4.0.3 V3 and ASVS 5.0.0 V7, V9 and V3.3, each citing a test or saying plainly that it is not latchkey\'s', () => {
    const found = entries(doc);
    const absent = REQUIREMENTS.filter((id) => !found.has(id));
    expect(absent).toEqual([]);
    const unproved = REQUIREMENTS.filter((id) => {
      const entry = found.get(id) as string;
      return entry.match(CITATION) === null && !NOT_OURS.test(entry);
    });
    expect(unproved).toEqual([]);
  });

  it('would notice a renamed test, a missing file, and a requirement without an entry or a proof', () => {
    const fake = [
      '#### v4.0.3-3.1.1 Cited',
      '- **Proved by:** `test/docs/security-map.test.ts` › “cites only tests that exist, under the name they have in the suite”',
      '#### v4.0.3-3.2.1 Cited under a name nobody has',
      '- **Proved by:** `test/docs/security-map.test.ts` › “a test that was renamed”; `test/nowhere.test.ts` › “anything”',
      '#### v4.0.3-3.2.2 Claimed without proof',
      '- **Default:** trust us.',
    ].join('\n');
    const suite = (file: string): string | null => (file === 'test/docs/security-map.test.ts' ? "it('cites only tests that exist, under the name they have in the suite', () => {" : null);
    expect(missingCitations(fake, suite)).toEqual(['test/docs/security-map.test.ts › a test that was renamed', 'test/nowhere.test.ts › anything (no such file)']);
    const found = entries(fake);
    expect([...found.keys()]).toEqual(['v4.0.3-3.1.1', 'v4.0.3-3.2.1', 'v4.0.3-3.2.2']);
    expect((found.get('v4.0.3-3.2.2') as string).match(CITATION)).toBeNull();
    expect(REQUIREMENTS.filter((id) => !found.has(id))).toContain('v5.0.0-9.2.4');
  });
});
