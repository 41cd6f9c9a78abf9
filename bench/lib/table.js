/**
 * Plain-text tables for benchmark output, and the number formats they use.
 */

/**
 * Lays rows out in columns: text left-aligned, numbers (already formatted) right-aligned.
 *
 * @param {string[]} headers
 * @param {string[][]} rows
 * @returns {string}
 */
export function table(headers, rows) {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((row) => /^[\d\s,.x%µ<>=+-]*$/.test(row[c])));
  const line = (cells) =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** 1234567.8 → "1,234,568" */
export function count(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** Nanoseconds as microseconds with two decimals: 1234 → "1.23" */
export function micros(ns) {
  return (ns / 1000).toFixed(2);
}

/** A ratio with two decimals and an "x": 1.234 → "1.23x" */
export function times(ratio) {
  return `${ratio.toFixed(2)}x`;
}
