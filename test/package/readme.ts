/**
 * What the package test reads out of a Markdown file, parsed afresh on every
 * run so that the test follows the README as it is edited: the code blocks
 * (with their line and the heading they sit under), the packages the Install
 * section tells users to install, and the relative links.
 */

/** A fenced code block. */
export interface Snippet {
  /** The info string's first word: `ts`, `js`, `sh`... (empty for a bare fence). */
  readonly lang: string;
  /** 1-based line of the opening fence; the code's first line is `line + 1`. */
  readonly line: number;
  readonly code: string;
  /** The nearest heading above it, e.g. `## Quick start`. */
  readonly heading: string;
}

/** Every fenced code block, in order. Fences are ``` at the start of a line. */
export function codeBlocks(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const blocks: Snippet[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    const fence = /^```\s*([\w+-]*)/.exec(text);
    if (fence === null) {
      if (/^#{1,6} /.test(text)) heading = text.trim();
      continue;
    }
    const start = i;
    const code: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) code.push(lines[i] as string);
    if (i === lines.length) throw new Error(`README.md:${start + 1}: code block never closed`);
    blocks.push({ lang: (fence[1] ?? '').toLowerCase(), line: start + 1, code: `${code.join('\n')}\n`, heading });
  }
  return blocks;
}

/** The lines of the section under the `## <title>` heading, up to the next heading of that level or above. */
export function section(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  if (start === -1) throw new Error(`README.md has no "## ${title}" section`);
  const end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

/**
 * The packages that the `npm install` (or `npm i`, `npm add`) lines of the
 * shell blocks of `text` name, in order and once each, without flags
 * (`-D`...) and comments.
 */
export function installedPackages(text: string): string[] {
  const names: string[] = [];
  for (const block of codeBlocks(text)) {
    if (!['sh', 'shell', 'bash', 'console'].includes(block.lang)) continue;
    for (const raw of block.code.split('\n')) {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      const m = /^(?:\$\s+)?npm\s+(?:install|i|add)\s+(.*)$/.exec(line);
      if (m === null) continue;
      for (const arg of (m[1] as string).split(/\s+/)) if (arg !== '' && !arg.startsWith('-') && !names.includes(arg)) names.push(arg);
    }
  }
  return names;
}

/** `name@range` (`@scope/name@range`) → its name and range (`''` when none). */
export function splitSpec(spec: string): { name: string; range: string } {
  const at = spec.indexOf('@', 1);
  return at === -1 ? { name: spec, range: '' } : { name: spec.slice(0, at), range: spec.slice(at + 1) };
}

/** Whether `version` (x.y.z) is within `range` as the README writes ranges: none, `12`, `12.x`, `^12.1`, or exact. */
export function withinRange(version: string, range: string): boolean {
  if (range === '' || range === version) return true;
  const major = /^\^?(\d+)(?:\.x|\.\d+(?:\.\d+)?)?$/.exec(range)?.[1];
  return major !== undefined && version.split('.')[0] === major;
}

/** A relative link or image of a Markdown file. */
export interface Link {
  /** The target without its `#fragment`, e.g. `docs/http.md`; empty for a link to a heading of the same file. */
  readonly target: string;
  readonly line: number;
}

/** Links and images outside code blocks and code spans whose target is a relative path (not a URL, not `#anchor`). */
export function relativeLinks(markdown: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^```/.test(text)) fenced = !fenced;
    if (fenced) return;
    const spans = [...text.matchAll(/`[^`]*`/g)].map((m) => [m.index, m.index + m[0].length] as const);
    for (const m of text.matchAll(/!?\[(?:[^\]`]|`[^`]*`)*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (spans.some(([from, to]) => m.index > from && m.index < to)) continue; // written inside a code span
      const target = m[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      links.push({ target: target.replace(/#.*$/, ''), line: i + 1 });
    }
  });
  return links;
}
