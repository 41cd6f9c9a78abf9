/**
 * Where benchmark figures go: bench/results/<name>-latest.json, written whole
 * or not at all (through a .tmp file and a rename), with a description of the
 * machine that produced them.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { version } from 'node:process';

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

/** The machine and runtime, to read figures against. */
export function environment() {
  const cores = cpus();
  return {
    node: version,
    platform: `${platform()} ${arch()}`,
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/**
 * Writes the figures of benchmark `name`; returns the file's path.
 *
 * @param {string} name
 * @param {object} figures
 */
export function writeResults(name, figures) {
  const path = `${RESULTS}${name}-latest.json`;
  const doc = { benchmark: name, date: new Date().toISOString(), environment: environment(), ...figures };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}
