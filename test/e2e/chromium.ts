/**
 * Real headless Chromium for end-to-end tests, driven by playwright-core
 * (which downloads no browser): Debian's `chromium` package at
 * `/usr/bin/chromium`, or the executable named by `CHROMIUM_PATH`.
 *
 * When no Chromium is found, suites skip with a loud warning, unless
 * `process.env.CI` is set: then importing this module throws, so CI fails.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : null;
  return executable('/usr/bin/chromium') ? '/usr/bin/chromium' : null;
}

/** The Chromium executable, or `null` when there is none (then the suites skip, outside CI). */
export const chromiumPath: string | null = findChromium();

if (chromiumPath === null) {
  const where = process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not executable` : '/usr/bin/chromium not found';
  if (process.env.CI) throw new Error(`Chromium: ${where}, and CI is set: install the Debian package chromium (apt-get install chromium)`);
  console.warn(`SKIPPED: browser end-to-end tests — ${where} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

/** Flags for a quiet, hermetic headless Chromium in a container (no sandbox: tests often run as root). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium; throws when there is none. Close it in `afterAll`. */
export async function launchChromium(): Promise<Browser> {
  if (chromiumPath === null) throw new Error('no Chromium: apt-get install chromium, or set CHROMIUM_PATH');
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: [...CHROMIUM_ARGS], timeout: 30_000 });
}
